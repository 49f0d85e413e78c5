"""modelVersions and reprocess(outdated: true) through GraphQL: after an upgrade (the fake labeler's version
changes at the port), the archive's older runs are counted and only those assets are reprocessed; bad input
gets typed errors."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.context import Context
from api.schema import schema
from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessRequest
from tests.api.concepts.test_concepts_graphql import OTHERS, REDS
from tests.api.concepts.test_concepts_graphql import ingest as ingest_colors
from tests.api.test_reprocess import gql, ingest
from tests.conftest import make_tenant
from tests.fakes import ColorFeatureLabeler, ColorLabeler
from tests.mediasight.test_verify import HashEmbedder

MODELS = """query ($analyzers: [String!]) { modelVersions(analyzers: $analyzers) {
  analyzer server { provider modelName modelVersion known } current outdated
  older { model { modelVersion } assets } } }"""
OUTDATED = """mutation ($ids: [ID!], $filter: SearchFilter, $analyzers: [String!]) {
  reprocess(assetIds: $ids, filter: $filter, analyzers: $analyzers, outdated: true) {
    batch { id status total done } error { code message } } }"""


@pytest.fixture
def labeler() -> ColorLabeler:
    return ColorLabeler()


@pytest.fixture
async def upgradable(settings: Settings, labeler: ColorLabeler) -> AsyncIterator[Services]:
    svc = build(settings, labeler=labeler)
    yield svc
    svc.close()


async def test_model_versions_and_reprocess_of_the_outdated_only(
    upgradable: Services, labeler: ColorLabeler
) -> None:
    services = upgradable
    tenant, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    ids = await ingest(
        services, tenant, {"red": (240, 20, 20), "green": (20, 240, 20), "blue": (20, 20, 240)}
    )
    await ingest(services, other, {"red": (240, 20, 20)})
    (before,) = (await gql(services, tenant, MODELS))["modelVersions"]
    assert (before["current"], before["outdated"], before["older"]) == (3, 0, [])

    labeler.version = "2"  # the upgrade
    (after,) = (await gql(services, tenant, MODELS))["modelVersions"]
    assert after["server"] == {
        "provider": "local",
        "modelName": "fake-color",
        "modelVersion": "2+dct",
        "known": True,
    }
    assert (after["current"], after["outdated"]) == (0, 3)
    assert after["older"] == [{"model": {"modelVersion": "1+dct"}, "assets": 3}]

    # a filter narrows the outdated: only the red one
    payload = (await gql(services, tenant, OUTDATED, filter={"labels": ["Red"]}))["reprocess"]
    assert payload["error"] is None and payload["batch"]["status"] == "PREPARING"
    await services.worker().run_until_idle()
    batch = await services.catalog.get_batch(tenant, payload["batch"]["id"])
    assert batch is not None and (batch.total, batch.done) == (1, 1)
    (mid,) = (await gql(services, tenant, MODELS))["modelVersions"]
    assert (mid["current"], mid["outdated"]) == (1, 2)

    # neither filter nor IDs: every indexed asset's, the outdated ones only
    payload = (await gql(services, tenant, OUTDATED))["reprocess"]
    assert payload["error"] is None
    await services.worker().run_until_idle()
    batch = await services.catalog.get_batch(tenant, payload["batch"]["id"])
    assert batch is not None and (batch.total, batch.done) == (2, 2)
    runs = await services.catalog.runs_of(tenant, [ids["red"]], "labels")
    assert [r.model_version for r in runs[ids["red"]]] == ["2+dct", "1+dct"]  # red not run a third time
    (done,) = (await gql(services, tenant, MODELS))["modelVersions"]
    assert (done["current"], done["outdated"]) == (3, 0)
    # the other tenant's runs are its own: still the older model
    (theirs,) = (await gql(services, other, MODELS))["modelVersions"]
    assert (theirs["current"], theirs["outdated"]) == (0, 1)

    # nothing outdated left: the batch ends FAILED saying so
    payload = (await gql(services, tenant, OUTDATED))["reprocess"]
    await services.worker().run_until_idle()
    batch = await services.catalog.get_batch(tenant, payload["batch"]["id"])
    assert batch is not None and batch.status.value == "failed" and "older model" in batch.error


async def _errors(services: Services, tenant: str, document: str, **variables: Any) -> list[Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is not None
    return result.errors


async def test_bad_input_gets_typed_errors(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    (error,) = await _errors(services, tenant, MODELS, analyzers=["labels", "nope"])
    assert error.extensions == {"code": "UNKNOWN_ANALYZER"} and "nope" in error.message
    payload = (await gql(services, tenant, OUTDATED, analyzers=["nope"]))["reprocess"]
    assert payload["batch"] is None and payload["error"]["code"] == "UNKNOWN_ANALYZER"
    payload = (await gql(services, tenant, OUTDATED, ids=["not-an-id"]))["reprocess"]
    assert payload["error"]["code"] == "NOT_FOUND"
    (error,) = await _errors(services, tenant, MODELS, analyzers=["concept:Nope"])
    assert error.extensions == {"code": "UNKNOWN_ANALYZER"} and "no activated concept" in error.message
    # a server without a text embedder has no embedding to judge or make again
    (error,) = await _errors(services, tenant, MODELS, analyzers=["embedding"])
    assert error.extensions == {"code": "UNKNOWN_ANALYZER"} and "embedding" in error.message
    payload = (await gql(services, tenant, OUTDATED, analyzers=["embedding"]))["reprocess"]
    assert payload["error"]["code"] == "UNKNOWN_ANALYZER"


async def test_each_asset_runs_again_only_what_an_older_model_made(
    settings: Settings, labeler: ColorLabeler
) -> None:
    """reprocess(outdated: true) without analyzers: the tenant's labels and properties are chosen, but only
    the labels are older, so the properties do not run again (on a large archive, the full stack would)."""
    services = build(settings.model_copy(update={"analyzers": "labels,properties"}), labeler=labeler)
    try:
        tenant, _ = await make_tenant(services, "acme")
        ids = await ingest(services, tenant, {"red": (240, 20, 20), "green": (20, 240, 20)})
        labeler.version = "2"  # the upgrade changes the labels' model only
        payload = (await gql(services, tenant, OUTDATED))["reprocess"]
        assert payload["error"] is None
        await services.worker().run_until_idle()
        batch = await services.catalog.get_batch(tenant, payload["batch"]["id"])
        assert batch is not None and batch.outdated_only and (batch.total, batch.done) == (2, 2)
        for asset_id in ids.values():
            labels = await services.catalog.runs_of(tenant, [asset_id], "labels")
            assert [r.model_version for r in labels[asset_id]] == ["2+dct", "1+dct"]
            properties = await services.catalog.runs_of(tenant, [asset_id], "properties")
            assert len(properties[asset_id]) == 1  # current already: not run again
    finally:
        services.close()


async def test_embeddings_and_concepts_an_older_model_made_are_seen_and_made_again(
    settings: Settings,
) -> None:
    """The meaning vectors of another embedder, and a concept's runs by a version no longer the active one
    (an activation batch cut short), are outdated too: reprocess(outdated: true) without analyzers embeds
    and scores those again, and runs no labels."""
    embedder = HashEmbedder()
    services = build(settings, labeler=ColorFeatureLabeler(), embedder=embedder)
    try:
        tenant, _ = await make_tenant(services, "acme")
        reds = await ingest_colors(services, tenant, REDS, "red")
        others = await ingest_colors(services, tenant, OTHERS, "other")
        await services.concepts.create(tenant, "Crimson", positives=reds[:5], negatives=others[:5])
        await services.concepts.train(tenant, "Crimson")
        await services.worker().run_until_idle()
        concept, _ = await services.concepts.activate(tenant, "Crimson")
        await services.worker().run_until_idle()
        rows = (await gql(services, tenant, MODELS))["modelVersions"]
        assert [r["analyzer"] for r in rows] == ["labels", "embedding", "concept:Crimson"]
        assert [(r["current"], r["outdated"]) for r in rows] == [(14, 0)] * 3
        assert rows[2]["server"]["modelVersion"] == "v1"

        embedder.version = "2"  # the upgrade: another embedder
        scored = await services.catalog.get_result(tenant, reds[0], concept.analyzer)
        assert scored is not None  # ... and the activation's batch did not reach this one
        stale = dataclasses.replace(scored, id=uuid7(), model_version="v0", finished_at=utcnow(), change=None)
        await services.catalog.save_result(tenant, stale)
        rows = (await gql(services, tenant, MODELS))["modelVersions"]
        assert [(r["current"], r["outdated"]) for r in rows] == [(14, 0), (0, 14), (13, 1)]
        assert rows[1]["older"] == [{"model": {"modelVersion": "1"}, "assets": 14}]

        payload = (await gql(services, tenant, OUTDATED))["reprocess"]
        assert payload["error"] is None
        await services.worker().run_until_idle()
        batch = await services.catalog.get_batch(tenant, payload["batch"]["id"])
        assert batch is not None and (batch.total, batch.done, batch.failed) == (14, 14, 0)
        rows = (await gql(services, tenant, MODELS))["modelVersions"]
        assert [(r["current"], r["outdated"]) for r in rows] == [(14, 0)] * 3
        runs = await services.catalog.runs_of(tenant, reds + others)
        again = sorted({r.analyzer for by in runs.values() for r in by if r.batch_id == batch.id})
        assert again == ["concept:Crimson", "embedding"]
        rescored = [r for r in runs[reds[0]] if r.batch_id == batch.id and r.analyzer == concept.analyzer]
        assert [r.model_version for r in rescored] == ["v1"]
        assert not [
            r for i in reds[1:] for r in runs[i] if r.batch_id == batch.id and r.analyzer != "embedding"
        ]

        # the embedding alone, any time (not only the outdated): embedded again, no model run before it
        again = await services.reprocess.start(tenant, [reds[1]], ReprocessRequest(analyzers=("embedding",)))
        await services.worker().run_until_idle()
        made = (await services.catalog.runs_of(tenant, [reds[1]]))[reds[1]]
        assert [r.analyzer for r in made if r.batch_id == again.id] == ["embedding"]
    finally:
        services.close()
