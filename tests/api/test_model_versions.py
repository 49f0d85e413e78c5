"""modelVersions and reprocess(outdated: true) through GraphQL: after an upgrade (the fake labeler's version
changes at the port), the archive's older runs are counted and only those assets are reprocessed; bad input
gets typed errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.context import Context
from api.schema import schema
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.test_reprocess import gql, ingest
from tests.conftest import make_tenant
from tests.fakes import ColorLabeler

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
