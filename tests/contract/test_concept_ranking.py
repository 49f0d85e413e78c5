"""A concept version's kept scores read ranked (indexer/concepts/ranking.py) on every catalog: the
suggestions and the uncertain items are assets of the archive, never training examples uploaded for another
concept nor a video's keyframes; a version catches up with the vectors stored after it scored, including
those of assets that were still in the pipeline then."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import numpy as np
import pytest

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import ConceptVersion, VersionStatus
from catalog.domain.ids import uuid7
from catalog.domain.model import FeatureVector, Stage
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
    """Indexed assets of `tenant` with these vectors, in ID order (the order vectors are scanned in)."""
    ids = []
    for v in vectors:
        fields = {"status": Stage.INDEXED, **changes}
        asset = new_asset(tenant, uuid7().replace("-", "").ljust(64, "0"), **fields)
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


async def test_a_version_catches_up_with_vectors_stored_after_it_scored(
    catalog: CatalogStore, cpu: CpuPool
) -> None:
    t1, t2 = await tenants(catalog, "acme", "other")
    rng = np.random.default_rng(5)
    first = await stored(catalog, t1, rng.random((14, 32)))
    version = await trained(catalog, t1, first[:6], first[6:12])
    scores = ConceptScores(catalog, cpu)
    assert await scores.behind(t1, version)  # never scored

    # the training's scoring: every vector, and the point it reached
    version = await scores.catch_up(t1, version)
    assert version.scored and version.scored_through == first[-1]
    assert not await scores.behind(t1, version)
    await stored(catalog, t2, rng.random((3, 32)))  # another tenant's new assets are not this one's
    assert not await scores.behind(t1, version)

    async def ranked() -> set[str]:
        got = await catalog.ranked_concept_scores(
            t1, version.concept_id, 1, descending=True, start=None, limit=100
        )
        return {a for a, _ in got}

    # an asset ingested now is indexed later, after newer ones were: the point stops short of it
    late = new_asset(t1, "f" * 64)
    await catalog.register_asset(late)
    newer = await stored(catalog, t1, rng.random((3, 32)))
    assert await scores.behind(t1, version)
    version = await scores.catch_up(t1, version)
    assert await ranked() == {*first, *newer}
    assert version.scored_through == first[-1]  # the older asset has no vector yet
    await catalog.save_features(t1, late.id, FeatureVector(MODEL, rng.random(32).astype("<f2").tobytes()))
    await catalog.set_stage(t1, late.id, Stage.INDEXED)
    version = await scores.catch_up(t1, version)
    assert await ranked() == {*first, *newer, late.id}
    assert version.scored_through == newer[-1]
    assert not await scores.behind(t1, version)

    # an asset that never gets a vector (a video, say) moves the point on all the same
    video = new_asset(t1, "e" * 64, status=Stage.INDEXED, media_type="video/mp4")
    await catalog.register_asset(video)
    assert await scores.behind(t1, version)
    version = await scores.catch_up(t1, version)
    assert version.scored_through == video.id
    assert not await scores.behind(t1, version)

    # scores kept before the point was (scored, no point): the whole archive once more
    legacy = await scores.catch_up(t1, dataclasses.replace(version, scored_through=""))
    assert legacy.scored_through == video.id
