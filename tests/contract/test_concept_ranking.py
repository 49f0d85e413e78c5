"""A concept version's kept scores read ranked (indexer/concepts/ranking.py) on every catalog: the
suggestions and the uncertain items are assets of the archive, never training examples uploaded for another
concept nor a video's keyframes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import ConceptVersion, VersionStatus
from catalog.domain.ids import uuid7
from catalog.domain.model import FeatureVector
from catalog.domain.ports import CatalogStore
from indexer.concepts.probe import as_matrix, train
from indexer.concepts.ranking import ConceptScores
from indexer.cpu import CpuPool
from tests.contract.catalogs import backend, catalog, new_asset, tenants

__all__ = ["backend", "catalog"]

MODEL = "ranking-features"


@pytest.fixture
async def cpu() -> AsyncIterator[CpuPool]:
    pool = CpuPool(1)
    try:
        yield pool
    finally:
        pool.close()


async def stored(catalog: CatalogStore, tenant: str, vectors: np.ndarray, **changes: object) -> list[str]:
    """Assets of `tenant` with these feature vectors, in ID order (the order vectors are scanned in)."""
    ids = []
    for v in vectors:
        asset = new_asset(tenant, uuid7().replace("-", "").ljust(64, "0"), **changes)
        await catalog.register_asset(asset)
        await catalog.save_features(tenant, asset.id, FeatureVector(MODEL, v.astype("<f2").tobytes()))
        ids.append(asset.id)
    return ids


async def trained(
    catalog: CatalogStore, tenant: str, positives: list[str], negatives: list[str]
) -> ConceptVersion:
    found = await catalog.get_features(tenant, [*positives, *negatives], MODEL)
    weights, metrics = train(
        as_matrix([found[a] for a in positives]), as_matrix([found[a] for a in negatives])
    )
    return ConceptVersion(
        tenant, uuid7(), 1, VersionStatus.READY, MODEL, utcnow(), metrics=metrics, weights=weights
    )


async def test_suggestions_leave_out_other_concepts_uploads_and_keyframes(
    catalog: CatalogStore, cpu: CpuPool
) -> None:
    (tenant,) = await tenants(catalog, "acme")
    rng = np.random.default_rng(11)
    centre = rng.random(32)
    like = await stored(catalog, tenant, np.maximum(centre + rng.normal(0, 0.3, (12, 32)), 0))
    unlike = await stored(catalog, tenant, rng.random((12, 32)))
    # the closest of all to the concept: uploaded to teach another concept, and a keyframe
    uploads = await stored(
        catalog, tenant, np.maximum(centre + rng.normal(0, 0.05, (3, 32)), 0), training_example=True
    )
    frames = await stored(
        catalog, tenant, np.maximum(centre + rng.normal(0, 0.05, (2, 32)), 0), frame_time=1.5
    )
    version = await trained(catalog, tenant, like[:6], unlike[:6])
    scores = ConceptScores(catalog, cpu)
    assert await scores.score_archive(tenant, version) == 29  # every stored vector is scored

    everything = await catalog.ranked_concept_scores(
        tenant, version.concept_id, 1, descending=True, start=None, limit=100
    )
    assert {a for a, _ in everything[:5]} == {*uploads, *frames}  # they would have topped the suggestions
    examples = {*like[:6], *unlike[:6]}
    archive = [(a, p) for a, p in everything if a in {*like, *unlike} - examples]

    top = await scores.top(tenant, version, first=6, skip=examples)
    assert [(s.asset_id, s.probability) for s in top] == archive[:6]
    threshold = version.metrics.threshold if version.metrics else 0.5
    near = await scores.near(tenant, version, threshold, first=30, skip=examples)
    assert {s.asset_id for s in near} == {a for a, _ in archive}

    # the same bytes ingested for the archive: the upload joins it, and the suggestions
    assert await catalog.join_archive(tenant, uploads[0])
    top = await scores.top(tenant, version, first=1, skip=examples)
    assert [s.asset_id for s in top] == [uploads[0]]
