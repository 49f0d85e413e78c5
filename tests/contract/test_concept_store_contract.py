"""Feature vectors and custom concepts on both catalogs (SQLite, DynamoDB Local): vectors by key and in ID
order, deleted with their asset; concepts unique by name per tenant, examples replaced per asset, versions
numbered once, newest first; versions' scores ranked, replaced per asset, deleted with their asset and their
concept; every read and write scoped to its tenant."""

from __future__ import annotations

import dataclasses

import numpy as np

from catalog.domain.concepts.model import (
    Concept,
    ConceptExample,
    ConceptVersion,
    ExampleSource,
    ProbeMetrics,
    ProbeWeights,
    VersionStatus,
)
from catalog.domain.ids import uuid7
from catalog.domain.model import FeatureVector
from catalog.domain.ports import CatalogStore
from tests.contract.catalogs import T0, backend, catalog, new_asset, tenants

__all__ = ["backend", "catalog"]

MODEL = "efficientnet-lite0-imagenet1k/pool1280@1.0.wabc"


def vector(seed: int, model: str = MODEL) -> FeatureVector:
    values = np.random.default_rng(seed).random(1280).astype("<f2")
    return FeatureVector(model, values.tobytes())


async def test_features_are_kept_per_tenant_and_model(catalog: CatalogStore) -> None:
    t1, t2 = await tenants(catalog, "one", "two")
    assets = [new_asset(t1, f"{i:064x}") for i in range(5)]
    for a in assets:
        await catalog.register_asset(a)
    other = new_asset(t2, f"{9:064x}")
    await catalog.register_asset(other)
    for i, a in enumerate(assets):
        await catalog.save_features(t1, a.id, vector(i))
    await catalog.save_features(t1, assets[0].id, vector(99, "another-model"))
    await catalog.save_features(t2, other.id, vector(7))

    got = await catalog.get_features(t1, [a.id for a in assets] + [other.id, "nope"], MODEL)
    assert set(got) == {a.id for a in assets}  # not the other tenant's, not a missing one
    assert got[assets[2].id] == vector(2).data
    assert np.frombuffer(got[assets[2].id], "<f2").shape == (1280,)
    assert (await catalog.get_features(t1, [assets[0].id], "another-model")) == {
        assets[0].id: vector(99).data
    }
    assert await catalog.get_features(t2, [assets[0].id], MODEL) == {}

    # replaced, not added
    await catalog.save_features(t1, assets[1].id, vector(42))
    assert (await catalog.get_features(t1, [assets[1].id], MODEL))[assets[1].id] == vector(42).data

    # a scan pages in ID order, skipping assets without a vector of the model
    no_vector = new_asset(t1, f"{77:064x}")
    await catalog.register_asset(no_vector)
    seen: list[str] = []
    after: str | None = None
    while page := await catalog.scan_features(t1, MODEL, after=after, limit=2):
        assert len(page) <= 2
        seen += [a for a, _ in page]
        after = page[-1][0]
    assert seen == sorted(a.id for a in assets)
    assert [a for a, _ in await catalog.scan_features(t2, MODEL, after=None, limit=10)] == [other.id]
    # more assets without a vector in a row than a page holds do not end the scan
    for i in range(5):
        await catalog.register_asset(new_asset(t1, f"{100 + i:064x}"))
    late = new_asset(t1, f"{200:064x}")
    await catalog.register_asset(late)
    await catalog.save_features(t1, late.id, vector(5))
    assert [a for a, _ in await catalog.scan_features(t1, MODEL, after=seen[-1], limit=2)] == [late.id]

    await catalog.delete_asset(t1, assets[0].id)
    assert await catalog.get_features(t1, [assets[0].id], MODEL) == {}
    assert await catalog.get_features(t1, [assets[0].id], "another-model") == {}


def concept(tenant: str, name: str, **changes: object) -> Concept:
    fields: dict[str, object] = {
        "id": uuid7(),
        "tenant_id": tenant,
        "name": name,
        "parents": ("Dog", "Animal"),
        "synonyms": ("Rex",),
        "created_at": T0,
    }
    return Concept(**(fields | changes))  # type: ignore[arg-type]


async def test_concepts_are_unique_by_name_per_tenant(catalog: CatalogStore) -> None:
    first = concept("t1", "Office Dog")
    assert await catalog.create_concept(first)
    assert not await catalog.create_concept(concept("t1", "office dog"))  # the same name, any case
    assert await catalog.create_concept(concept("t2", "Office Dog"))  # another tenant's own
    assert await catalog.create_concept(concept("t1", "Boat"))

    assert await catalog.get_concept("t1", "OFFICE DOG") == first
    assert [c.name for c in await catalog.list_concepts("t1")] == ["Boat", "Office Dog"]
    assert await catalog.get_concept("t3", "Office Dog") is None

    changed = dataclasses.replace(first, active_version=2, versions=3, synonyms=("Rex", "Good boy"))
    await catalog.save_concept(changed)
    assert await catalog.get_concept("t1", "Office Dog") == changed
    # another tenant's save of the same name does not touch it
    await catalog.save_concept(dataclasses.replace(changed, tenant_id="t2", versions=9))
    assert (await catalog.get_concept("t1", "Office Dog")) == changed


async def test_examples_are_replaced_per_asset(catalog: CatalogStore) -> None:
    c = concept("t1", "Boat")
    await catalog.create_concept(c)
    ids = sorted(uuid7() for _ in range(4))
    await catalog.put_examples(
        "t1", c.id, [ConceptExample(i, n < 3, ExampleSource.MANUAL, T0) for n, i in enumerate(ids)]
    )
    await catalog.put_examples("t1", c.id, [ConceptExample(ids[0], False, ExampleSource.REVIEW, T0)])
    examples = await catalog.list_examples("t1", c.id)
    assert [(e.asset_id, e.positive, e.source) for e in examples] == [
        (ids[0], False, ExampleSource.REVIEW),
        (ids[1], True, ExampleSource.MANUAL),
        (ids[2], True, ExampleSource.MANUAL),
        (ids[3], False, ExampleSource.MANUAL),
    ]
    assert examples[0].added_at == T0
    assert await catalog.list_examples("t2", c.id) == []
    assert await catalog.remove_examples("t2", c.id, ids) == 0  # not another tenant's
    assert await catalog.remove_examples("t1", c.id, [ids[1], ids[3], "nope"]) == 2
    assert [e.asset_id for e in await catalog.list_examples("t1", c.id)] == [ids[0], ids[2]]


async def test_versions_are_numbered_once_and_listed_newest_first(catalog: CatalogStore) -> None:
    c = concept("t1", "Boat")
    await catalog.create_concept(c)
    v1 = ConceptVersion("t1", c.id, 1, VersionStatus.TRAINING, MODEL, T0)
    assert await catalog.add_version(v1)
    assert not await catalog.add_version(dataclasses.replace(v1, feature_model="x"))
    assert await catalog.add_version(dataclasses.replace(v1, number=2))
    coef = np.arange(1280, dtype="<f4").tobytes()
    ready = dataclasses.replace(
        v1,
        status=VersionStatus.READY,
        finished_at=T0,
        metrics=ProbeMetrics(0.9, 0.8, 0.847, 0.42, 8, 40, 5, 120.5),
        weights=ProbeWeights(coef, -1.25, 2.0, 0.5),
        scored=True,
        scored_through="0190-asset",
    )
    await catalog.save_version(ready)
    assert await catalog.get_version("t1", c.id, 1) == ready
    assert [v.number for v in await catalog.list_versions("t1", c.id)] == [2, 1]
    assert await catalog.get_version("t2", c.id, 1) is None
    assert await catalog.list_versions("t2", c.id) == []

    await catalog.put_examples("t1", c.id, [ConceptExample("a", True, ExampleSource.MANUAL, T0)])
    await catalog.delete_concept("t1", c)
    assert await catalog.get_concept("t1", "Boat") is None
    assert await catalog.list_versions("t1", c.id) == []
    assert await catalog.list_examples("t1", c.id) == []
    # a job that ends after the deletion (training, scoring) does not bring its version back
    await catalog.save_version(dataclasses.replace(ready, scored_through="0191-asset"))
    assert await catalog.get_version("t1", c.id, 1) is None


async def ranking(
    catalog: CatalogStore,
    tenant: str,
    concept_id: str,
    version: int,
    *,
    descending: bool = True,
    start: tuple[float, str] | None = None,
    page: int = 2,
) -> list[tuple[str, float]]:
    """Every score from `start` on, read `page` at a time (each page starts after the last one's end)."""
    out: list[tuple[str, float]] = []
    while got := await catalog.ranked_concept_scores(
        tenant, concept_id, version, descending=descending, start=start, limit=page
    ):
        assert len(got) <= page
        out += got
        start = (got[-1][1], got[-1][0])
    return out


async def test_scores_are_ranked_per_version_and_go_with_their_asset_and_concept(
    catalog: CatalogStore,
) -> None:
    t1, t2 = await tenants(catalog, "one", "two")
    assets = [new_asset(t1, f"{i:064x}") for i in range(6)]
    for a in assets:
        await catalog.register_asset(a)
    a = [x.id for x in assets]
    c, other = concept(t1, "Boat"), concept(t1, "Crane")
    for made in (c, other):
        await catalog.create_concept(made)
    # two of the same score (0.5), one exactly at the threshold used below (0.4), one below it
    await catalog.save_concept_scores(
        t1, c.id, 1, [(a[0], 0.9), (a[1], 0.5), (a[2], 0.5), (a[3], 0.4), (a[4], 0.3999994), (a[5], 0.01)]
    )
    await catalog.save_concept_scores(t1, c.id, 2, [(a[0], 0.2)])
    await catalog.save_concept_scores(t1, other.id, 1, [(a[5], 0.99)])
    await catalog.save_concept_scores(t2, c.id, 1, [(a[1], 0.95)])  # another tenant, the same keys

    expected = [(a[0], 0.9), (a[2], 0.5), (a[1], 0.5), (a[3], 0.4), (a[4], 0.399999), (a[5], 0.01)]
    assert await ranking(catalog, t1, c.id, 1) == expected  # ties: by asset ID, the same way
    assert await ranking(catalog, t1, c.id, 1, descending=False, page=4) == expected[::-1]
    # split at a threshold: at or above it ascending, below it descending
    assert await ranking(catalog, t1, c.id, 1, descending=False, start=(0.4, "")) == expected[3::-1]
    assert await ranking(catalog, t1, c.id, 1, start=(0.4, "")) == expected[4:]
    assert await catalog.ranked_concept_scores(t1, c.id, 1, descending=True, start=None, limit=0) == []
    assert await ranking(catalog, t1, c.id, 2) == [(a[0], 0.2)]
    assert await ranking(catalog, t1, other.id, 1) == [(a[5], 0.99)]
    assert await ranking(catalog, t2, c.id, 1) == [(a[1], 0.95)]
    assert await ranking(catalog, "t3", c.id, 1) == []

    # a new score replaces the asset's old one (written again unchanged: still one)
    await catalog.save_concept_scores(t1, c.id, 1, [(a[5], 0.95), (a[0], 0.9)])
    assert await ranking(catalog, t1, c.id, 1, page=10) == [(a[5], 0.95), *expected[:5]]

    # deleting an asset deletes its scores (of every concept and version), not another tenant's
    await catalog.delete_asset(t1, a[5])
    await catalog.delete_asset(t1, a[0])
    assert await ranking(catalog, t1, c.id, 1) == expected[1:5]
    assert await ranking(catalog, t1, c.id, 2) == []
    assert await ranking(catalog, t1, other.id, 1) == []
    assert await ranking(catalog, t2, c.id, 1) == [(a[1], 0.95)]

    # deleting the concept deletes its scores
    await catalog.delete_concept(t1, c)
    assert await ranking(catalog, t1, c.id, 1) == []
    assert await ranking(catalog, t2, c.id, 1) == [(a[1], 0.95)]
