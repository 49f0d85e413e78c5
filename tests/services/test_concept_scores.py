"""A concept version's kept scores: the suggestions ("is this also X?") and the uncertain items read them
ranked, and give what scoring every stored vector gives (examples, assets in review, deleted assets and other
tenants left out); a version trained before scores were kept is scored by a background job, the request
answering PREPARING meanwhile; a version that is not active catches up with assets indexed after it scored."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import (
    Concept,
    ConceptError,
    ConceptExample,
    ConceptVersion,
    ExampleSource,
    VersionStatus,
)
from catalog.domain.ids import uuid7
from catalog.domain.model import FeatureVector, Stage
from indexer.concepts.probe import as_matrix, probabilities, train
from indexer.concepts.ranking import ConceptScores
from mediasight.bootstrap import Services
from tests.conftest import make_tenant
from tests.contract.catalogs import new_asset

MODEL = "bench-features"


async def archive(services: Services, tenant: str, vectors: np.ndarray) -> list[str]:
    ids = []
    for v in vectors:
        asset = new_asset(tenant, uuid7().replace("-", "").ljust(64, "0"), status=Stage.INDEXED)
        await services.catalog.register_asset(asset)
        await services.catalog.save_features(
            tenant, asset.id, FeatureVector(MODEL, v.astype("<f2").tobytes())
        )
        ids.append(asset.id)
    return ids


async def test_suggestions_and_uncertain_read_the_kept_scores(services: Services) -> None:
    rng = np.random.default_rng(3)
    centre = rng.random(64)
    near_it = centre + rng.normal(0, 0.4, (60, 64))  # a cloud around the concept, and others
    elsewhere = rng.random((140, 64))
    tenant, _ = await make_tenant(services, "acme")
    other_tenant, _ = await make_tenant(services, "other")
    ids = await archive(services, tenant, np.maximum(np.vstack([near_it, elsewhere]), 0))
    foreign = await archive(services, other_tenant, np.maximum(centre + rng.normal(0, 0.1, (5, 64)), 0))

    stored = await services.catalog.get_features(tenant, ids, MODEL)
    x = as_matrix([stored[a] for a in ids])
    weights, metrics = train(x[:8], x[60:80])
    concept = Concept(uuid7(), tenant, "Cloud", (), (), utcnow(), active_version=1, versions=1)
    await services.catalog.create_concept(concept)
    examples = [ConceptExample(a, True, ExampleSource.MANUAL, utcnow()) for a in ids[:8]]
    examples += [ConceptExample(a, False, ExampleSource.MANUAL, utcnow()) for a in ids[60:80]]
    await services.catalog.put_examples(tenant, concept.id, examples)
    version = ConceptVersion(
        tenant, concept.id, 1, VersionStatus.READY, MODEL, utcnow(), metrics=metrics, weights=weights
    )
    await services.catalog.add_version(version)  # as trained before scores were kept: scored=False

    # what scoring every vector gives, without the examples
    p = {a: round(q * 1e6) / 1e6 for a, q in zip(ids, probabilities(weights, x).tolist(), strict=True)}
    named = {e.asset_id for e in examples}
    candidates = [a for a in ids if a not in named]
    by_score = sorted(candidates, key=lambda a: (p[a], a), reverse=True)  # ties: as the ranking

    for ask in (
        lambda: services.concepts.suggestions(tenant, concept, first=10),
        lambda: services.concepts.uncertain(tenant, concept, first=10),
    ):
        with pytest.raises(ConceptError) as refused:  # not in the request: a worker scores the archive
            await ask()
        assert refused.value.code == "PREPARING"
    assert await services.queue.pending() == 1  # one job, however often asked
    await services.worker().run_until_idle()
    kept = await services.catalog.get_version(tenant, concept.id, 1)
    assert kept is not None and kept.scored and kept.scored_through == max(ids)
    top = await services.concepts.suggestions(tenant, concept, first=10)
    assert [s.asset_id for s in top] == by_score[:10]  # then read ranked
    assert all(s.probability == p[s.asset_id] for s in top)
    assert not set(foreign) & {s.asset_id for s in top}

    t = metrics.threshold
    in_review = by_score[:3]  # asked already: not asked again
    concept = dataclasses.replace(concept, in_review=tuple(in_review))
    await services.catalog.save_concept(concept)
    nearest = sorted((a for a in candidates if a not in in_review), key=lambda a: (abs(p[a] - t), a))
    uncertain = await services.concepts.uncertain(tenant, concept, first=7)
    assert [s.asset_id for s in uncertain] == nearest[:7]

    # a deleted asset is gone from the ranking; the next one comes up
    await services.catalog.delete_asset(tenant, by_score[0])
    again = await services.concepts.suggestions(tenant, concept, first=10)
    assert [s.asset_id for s in again] == by_score[1:11]

    # scoring the archive again (a retried training) changes nothing
    assert await ConceptScores(services.catalog, services.cpu).score_archive(tenant, kept) == len(ids) - 1
    assert [s.asset_id for s in await services.concepts.suggestions(tenant, concept, first=10)] == by_score[
        1:11
    ]


async def test_a_version_that_is_not_active_catches_up_in_the_background(services: Services) -> None:
    rng = np.random.default_rng(8)
    centre = rng.random(64)
    tenant, _ = await make_tenant(services, "acme")
    ids = await archive(
        services,
        tenant,
        np.maximum(np.vstack([centre + rng.normal(0, 0.4, (20, 64)), rng.random((40, 64))]), 0),
    )
    stored = await services.catalog.get_features(tenant, ids, MODEL)
    x = as_matrix([stored[a] for a in ids])
    weights, metrics = train(x[:8], x[20:40])
    concept = Concept(uuid7(), tenant, "Cloud", (), (), utcnow(), versions=1)  # trained, not activated
    await services.catalog.create_concept(concept)
    trained = ConceptVersion(
        tenant, concept.id, 1, VersionStatus.READY, MODEL, utcnow(), metrics=metrics, weights=weights
    )
    await services.catalog.add_version(
        await ConceptScores(services.catalog, services.cpu).catch_up(tenant, trained)
    )
    before = await services.concepts.suggestions(tenant, concept, first=5)
    assert len(before) == 5 and await services.queue.pending() == 0  # nothing new: nothing to catch up

    # the closest of all, indexed after the version scored: read now, the kept scores answer (and a job
    # is queued); once it ran, they are suggested
    new = await archive(services, tenant, np.maximum(centre + rng.normal(0, 0.01, (2, 64)), 0))
    assert await services.concepts.suggestions(tenant, concept, first=5) == before
    assert await services.queue.pending() == 1
    await services.worker().run_until_idle()
    after = await services.concepts.suggestions(tenant, concept, first=5)
    assert {s.asset_id for s in after[:2]} == set(new)
    assert await services.queue.pending() == 0

    # the active version needs none: the concept stage scores what is indexed while it runs
    await services.catalog.save_concept(dataclasses.replace(concept, active_version=1))
    await archive(services, tenant, rng.random((2, 64)))
    await services.concepts.suggestions(tenant, await services.concepts.get(tenant, "Cloud"), first=5)
    assert await services.queue.pending() == 0
