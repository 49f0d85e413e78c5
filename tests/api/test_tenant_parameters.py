"""A tenant's own analyzer settings (TenantConfig.parameters, `tenant configure --param`): used at ingest
and in reprocessing, a batch's own parameters winning; other tenants keep the defaults.

The fake color labeler at the port (mixed: Red ~53, above the default 50, below 60), real SQLite storage
and the real worker.
"""

from __future__ import annotations

from typing import Any

from catalog.domain.model import TenantConfig
from mediasight.bootstrap import Services
from tests.api.test_reprocess import gql, ingest, reprocess
from tests.conftest import make_tenant

RUNS = """query ($id: ID!) { asset(id: $id) {
  runs(analyzer: "labels") { parameters batchId labels { name } } } }"""
MIXED = (160, 90, 50)


async def latest_run(services: Services, tenant: str, asset_id: str) -> dict[str, Any]:
    run: dict[str, Any] = (await gql(services, tenant, RUNS, id=asset_id))["asset"]["runs"][0]
    return run


async def test_a_tenants_settings_apply_at_ingest_and_a_batch_overrides_them(services: Services) -> None:
    strict, _ = await make_tenant(services, "strict")
    plain, _ = await make_tenant(services, "plain")
    # a setting of an analyzer the tenant does not run here (text) rides along unused
    config = TenantConfig(parameters={"labels": {"min_confidence": 60.0}, "text": {"thorough": True}})
    await services.catalog.set_tenant_config(strict, config)
    [strict_id] = (await ingest(services, strict, {"mixed": MIXED})).values()
    [plain_id] = (await ingest(services, plain, {"mixed": MIXED})).values()

    run = await latest_run(services, strict, strict_id)
    assert run["labels"] == [] and run["parameters"]["min_confidence"] == 60.0
    assert "thorough" not in run["parameters"]
    run = await latest_run(services, plain, plain_id)
    assert {lb["name"] for lb in run["labels"]} == {"Red", "Color"}
    assert run["parameters"]["min_confidence"] == 50.0

    payload = await reprocess(
        services, strict, ids=[strict_id], analyzers=["labels"], params={"min_confidence": 50}
    )
    run = await latest_run(services, strict, strict_id)
    assert run["batchId"] == payload["batch"]["id"] and run["parameters"]["min_confidence"] == 50.0
    assert {lb["name"] for lb in run["labels"]} == {"Red", "Color"}

    payload = await reprocess(services, strict, ids=[strict_id], analyzers=["labels"])  # the tenant's again
    run = await latest_run(services, strict, strict_id)
    assert run["batchId"] == payload["batch"]["id"] and run["parameters"]["min_confidence"] == 60.0
    assert run["labels"] == []
