"""A concept version's scores over the archive, kept in the catalog (ConceptScoreStore) and read ranked.

A training scores every stored vector of its feature model once, in the worker, before the version is
READY; the concept stage adds the score of each asset it runs on (new assets while the version is active,
activation batches). The "is this also X?" suggestions then read the version's top, and uncertainty sampling
the band around its threshold, instead of scoring every stored vector at each request.

A version remembers how far it scored (`scored_through`: asset IDs are time-ordered, so later IDs are
assets ingested later). A version that is not active misses the assets indexed after it scored; a catch-up
(the concept-score job) scores the vectors from that point on, and does the whole archive for a version
trained before scores were kept. The point stops short of the oldest asset still in the pipeline when it
scored, so an asset ingested earlier but indexed later is caught up too."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass

from catalog.domain.concepts.model import ConceptVersion
from catalog.domain.model import Stage
from catalog.domain.ports import CatalogStore
from indexer.concepts.probe import score_blobs
from indexer.cpu import CpuPool

SCORE_PAGE = 2_000  # stored vectors read and scored at a time when a version scores the archive
_MAX_READ = 1_000  # ranked scores read at a time
_UNSETTLED = (Stage.STORED, Stage.RENDITIONS, Stage.ANALYZED)  # assets still in the pipeline


@dataclass(frozen=True)
class Scored:
    asset_id: str
    probability: float  # 0-1, calibrated


class ConceptScores:
    def __init__(self, catalog: CatalogStore, cpu: CpuPool) -> None:
        self._catalog = catalog
        self._cpu = cpu

    async def score_archive(self, tenant_id: str, version: ConceptVersion) -> int:
        """Score every vector of the version's feature model the tenant has, and keep the scores; returns
        how many (the vectors are decoded and scored in the CPU pool, a page at a time)."""
        return await self._score(tenant_id, version, after=None)

    async def catch_up(self, tenant_id: str, version: ConceptVersion) -> ConceptVersion:
        """Score the vectors stored past the version's catch-up point (every one when it has no scores yet)
        and keep the scores; returns the version marked scored up to its new point, for the caller to save."""
        point = await self._settled_point(tenant_id)  # before the scan: every vector up to it is stored
        after = version.scored_through if version.scored else ""
        await self._score(tenant_id, version, after=after or None)
        return dataclasses.replace(version, scored=True, scored_through=max(point, after))

    async def behind(self, tenant_id: str, version: ConceptVersion) -> bool:
        """Whether the tenant has assets past the version's catch-up point (one short read)."""
        if not version.scored:
            return True
        after = version.scored_through or None
        return bool(await self._catalog.list_assets(tenant_id, after=after, limit=1))

    async def _score(self, tenant_id: str, version: ConceptVersion, *, after: str | None) -> int:
        """Score and keep the vectors of assets after `after`; returns how many."""
        weights = version.weights_or_raise()
        scored = 0
        while page := await self._catalog.scan_features(
            tenant_id, version.feature_model, after=after, limit=SCORE_PAGE
        ):
            after = page[-1][0]
            p = await self._cpu.run(score_blobs, weights, [v for _, v in page])
            await self._catalog.save_concept_scores(
                tenant_id,
                version.concept_id,
                version.number,
                [(a, float(x)) for (a, _), x in zip(page, p.tolist(), strict=True)],
            )
            scored += len(page)
        return scored

    async def _settled_point(self, tenant_id: str) -> str:
        """The newest of the tenant's assets older than every asset still in the pipeline ("" when none is):
        each asset up to it has its vector stored, if it ever gets one at indexing."""
        oldest, after = None, None
        while page := await self._catalog.assets_in_stages(
            tenant_id, _UNSETTLED, after=after, limit=_MAX_READ
        ):
            after = oldest = page[-1].id  # newest first: the last one seen is the oldest
        below = await self._catalog.assets_in_stages(tenant_id, tuple(Stage), after=oldest, limit=1)
        return below[0].id if below else ""

    async def top(
        self, tenant_id: str, version: ConceptVersion, *, first: int, skip: Collection[str]
    ) -> list[Scored]:
        """The `first` highest-scoring assets not in `skip`."""
        return await self._walk(tenant_id, version, None, descending=True, first=first, skip=skip)

    async def near(
        self, tenant_id: str, version: ConceptVersion, threshold: float, *, first: int, skip: Collection[str]
    ) -> list[Scored]:
        """The `first` assets not in `skip` whose score is nearest `threshold` (either side)."""
        at = (threshold, "")  # at or above it ascending, below it descending
        above = await self._walk(tenant_id, version, at, descending=False, first=first, skip=skip)
        below = await self._walk(tenant_id, version, at, descending=True, first=first, skip=skip)
        return sorted([*above, *below], key=lambda s: (abs(s.probability - threshold), s.asset_id))[:first]

    async def _walk(
        self,
        tenant_id: str,
        version: ConceptVersion,
        start: tuple[float, str] | None,
        *,
        descending: bool,
        first: int,
        skip: Collection[str],
    ) -> list[Scored]:
        """Ranked scores from `start` on, of assets of the archive only, without `skip`."""
        out: list[Scored] = []
        seen: set[str] = set()
        limit = min(first + len(skip), _MAX_READ)
        while len(out) < first:
            page = await self._catalog.ranked_concept_scores(
                tenant_id, version.concept_id, version.number, descending=descending, start=start, limit=limit
            )
            if not page:
                break
            start = (page[-1][1], page[-1][0])
            wanted = [(a, p) for a, p in page if a not in skip and a not in seen]
            seen.update(a for a, _ in wanted)
            present = await self._catalog.get_assets(tenant_id, [a for a, _ in wanted]) if wanted else {}
            # deleted meanwhile, or not the archive's: another concept's uploaded training examples are
            # scored with the rest (the stored vectors are read unfiltered) but are not what a reviewer
            # is asking about (the concept's own are examples, in `skip` already)
            out += [Scored(a, p) for a, p in wanted if a in present and present[a].in_archive]
            if len(page) < limit:
                break
        return out[:first]
