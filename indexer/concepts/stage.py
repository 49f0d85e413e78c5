"""The concept stage of an analysis: each active concept (analyzer `concept:<name>`) scores the asset's
feature vector, and its run says whether the concept's label applies, with the calibrated probability as
confidence and the concept's parents as the label's parents. Scoring is one dot product per concept (µs);
the vector comes from this analysis (the labels' forward pass), else from the catalog, else from the
`features` analyzer (a tenant whose labels come from elsewhere). Each score also joins the version's kept
ranking (ConceptScoreStore)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import Concept, ConceptVersion, VersionStatus, concept_of
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, FeatureVector, Findings, Label, RecognitionResult, RunStatus
from catalog.domain.model_census import ModelRef
from catalog.domain.ports import CatalogStore
from indexer.concepts.probe import as_matrix, probabilities

PROBE_MODEL = "logistic-probe"


def concept_model(version: int) -> ModelRef:
    """The model a concept's run records: the version of its probe that scored the asset."""
    return ModelRef("local", PROBE_MODEL, f"v{version}")


Extract = Callable[[], Awaitable[FeatureVector | None]]  # computes this asset's vector when none is stored


class ConceptUnavailable(Exception):
    """A named concept cannot run (deleted, not activated, no feature vector): the batch item fails."""


def concept_run(
    asset: Asset,
    concept: Concept,
    version: ConceptVersion,
    probability: float,
    *,
    started: float,
    batch_id: str | None,
) -> RecognitionResult:
    assert version.metrics is not None
    model = concept_model(version.number)
    confidence = round(probability * 100.0, 2)
    applies = probability >= version.metrics.threshold
    now = utcnow()
    return RecognitionResult(
        id=uuid7(),
        asset_id=asset.id,
        analyzer=concept.analyzer,
        provider=model.provider,
        model_name=model.model_name,
        model_version=model.model_version,
        parameters={
            "threshold": round(version.metrics.threshold * 100.0, 2),
            "score": confidence,
            "features": version.feature_model,
        },
        findings=Findings(labels=(Label(concept.name, confidence, concept.parents),) if applies else ()),
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        created_at=now,
        finished_at=now,
        batch_id=batch_id,
    )


class ConceptStage:
    def __init__(self, catalog: CatalogStore) -> None:
        self._catalog = catalog
        self._versions: dict[tuple[str, str, int], ConceptVersion] = {}  # READY versions never change

    async def _version(self, concept: Concept) -> ConceptVersion | None:
        if concept.active_version is None:
            return None
        key = (concept.tenant_id, concept.id, concept.active_version)
        if key not in self._versions:
            found = await self._catalog.get_version(concept.tenant_id, concept.id, concept.active_version)
            if found is None or found.status != VersionStatus.READY:
                return None
            self._versions[key] = found
        return self._versions[key]

    async def _chosen(
        self, tenant_id: str, names: Sequence[str] | None
    ) -> list[tuple[Concept, ConceptVersion]]:
        """The active concepts (names None: every one the tenant has), each with its active version."""
        if names is None:
            concepts = await self._catalog.list_concepts(tenant_id)
        else:
            concepts = []
            for name in names:
                found = await self._catalog.get_concept(tenant_id, name)
                if found is None or found.active_version is None:
                    raise ConceptUnavailable(f"concept {name!r} does not exist or is not activated")
                concepts.append(found)
        out = []
        for concept in concepts:
            version = await self._version(concept)
            if version is not None:
                out.append((concept, version))
            elif names is not None:
                raise ConceptUnavailable(f"concept {concept.name!r} has no trained active version")
        return out

    async def runs(
        self,
        asset: Asset,
        features: FeatureVector | None,
        extract: Extract,
        *,
        analyzers: Sequence[str] | None,
        batch_id: str | None = None,
    ) -> list[RecognitionResult]:
        """A run per concept: every active concept when `analyzers` is None (indexing), else the named
        `concept:<name>` analyzers (a batch). A concept without a vector to score ends in a failed run."""
        names = None if analyzers is None else [n for a in analyzers if (n := concept_of(a)) is not None]
        if names == []:
            return []
        chosen = await self._chosen(asset.tenant_id, names)
        vectors: dict[str, bytes] = {} if features is None else {features.model: features.data}
        extracted = False
        out = []
        for concept, version in chosen:
            started = time.perf_counter()
            model = version.feature_model
            if model not in vectors:
                stored = await self._catalog.get_features(asset.tenant_id, [asset.id], model)
                if asset.id in stored:
                    vectors[model] = stored[asset.id]
                elif not extracted:
                    extracted = True
                    made = await extract()
                    if made is not None:
                        await self._catalog.save_features(asset.tenant_id, asset.id, made)
                        vectors[made.model] = made.data
            if model not in vectors:
                out.append(_failed(asset, concept, version, batch_id))
                continue
            p = float(probabilities(version.weights_or_raise(), as_matrix([vectors[model]]))[0])
            # the version's ranking (suggestions, uncertainty sampling) gains this asset
            await self._catalog.save_concept_scores(
                asset.tenant_id, concept.id, version.number, [(asset.id, p)]
            )
            out.append(concept_run(asset, concept, version, p, started=started, batch_id=batch_id))
        return out


def _failed(
    asset: Asset, concept: Concept, version: ConceptVersion, batch_id: str | None
) -> RecognitionResult:
    now, model = utcnow(), concept_model(version.number)
    return RecognitionResult(
        id=uuid7(),
        asset_id=asset.id,
        analyzer=concept.analyzer,
        provider=model.provider,
        model_name=model.model_name,
        model_version=model.model_version,
        parameters={"features": version.feature_model},
        findings=Findings(),
        created_at=now,
        finished_at=now,
        status=RunStatus.FAILED,
        error=f"no feature vector of {version.feature_model} for this asset: "
        "run `mediasight concept backfill`",
        batch_id=batch_id,
    )
