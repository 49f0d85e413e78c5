"""Storage ports of custom concepts and of the feature vectors they learn from (every call takes the
tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from catalog.domain.concepts.model import Concept, ConceptExample, ConceptVersion
from catalog.domain.model import FeatureVector


class FeatureStore(Protocol):
    """One feature vector per asset and feature model (float16 bytes); deleted with the asset."""

    async def save_features(self, tenant_id: str, asset_id: str, vector: FeatureVector) -> None: ...
    async def get_features(self, tenant_id: str, asset_ids: Sequence[str], model: str) -> dict[str, bytes]:
        """The vectors of those assets that have one of this model."""
        ...

    async def scan_features(
        self, tenant_id: str, model: str, *, after: str | None, limit: int
    ) -> list[tuple[str, bytes]]:
        """(asset ID, vector) of the tenant's assets in ID order after `after`; a page may hold fewer than
        `limit` (assets without a vector of this model are skipped) and is empty only at the end."""
        ...


SCORE_UNITS = 1_000_000  # a probability is kept as round(p * SCORE_UNITS): ranked and compared exactly
ScoreCursor = tuple[float, str]  # (probability, asset ID): a place in a version's ranking


class ConceptScoreStore(Protocol):
    """Each concept version's probability per asset, ranked: the suggestions read its top, uncertainty
    sampling the band around the threshold, without scoring every vector again. Scores are kept in
    millionths (SCORE_UNITS); they go with the asset and with the concept."""

    async def save_concept_scores(
        self, tenant_id: str, concept_id: str, version: int, scores: Sequence[tuple[str, float]]
    ) -> None:
        """Add or replace (asset ID, probability 0-1) scores of one version."""
        ...

    async def ranked_concept_scores(
        self,
        tenant_id: str,
        concept_id: str,
        version: int,
        *,
        descending: bool,
        start: ScoreCursor | None,
        limit: int,
    ) -> list[tuple[str, float]]:
        """Up to `limit` (asset ID, probability) of one version in (probability, asset ID) order: descending,
        those below `start` (None: from the highest); ascending, those above it (None: from the lowest).
        (threshold, "") as `start` splits at the threshold: below it descending, at or above it ascending."""
        ...


class ConceptStore(ConceptScoreStore, Protocol):
    async def create_concept(self, concept: Concept) -> bool:
        """False when the tenant already has a concept of that name (names compare case-insensitively)."""
        ...

    async def get_concept(self, tenant_id: str, name: str) -> Concept | None: ...
    async def list_concepts(self, tenant_id: str) -> list[Concept]:
        """By name."""
        ...

    async def save_concept(self, concept: Concept) -> None:
        """Replace an existing concept's record (parents, synonyms, active version, version count)."""
        ...

    async def delete_concept(self, tenant_id: str, concept: Concept) -> None:
        """The concept, its examples and versions."""
        ...

    async def put_examples(self, tenant_id: str, concept_id: str, examples: Sequence[ConceptExample]) -> None:
        """Add, or replace (an asset is one example: positive or negative), examples."""
        ...

    async def remove_examples(self, tenant_id: str, concept_id: str, asset_ids: Sequence[str]) -> int: ...
    async def list_examples(self, tenant_id: str, concept_id: str) -> list[ConceptExample]:
        """By asset ID."""
        ...

    async def add_version(self, version: ConceptVersion) -> bool:
        """Insert a new version; False when that number exists already."""
        ...

    async def save_version(self, version: ConceptVersion) -> None: ...
    async def get_version(self, tenant_id: str, concept_id: str, number: int) -> ConceptVersion | None: ...
    async def list_versions(self, tenant_id: str, concept_id: str) -> list[ConceptVersion]:
        """Newest first."""
        ...
