"""A Rekognition model update, and a switch from the local provider to Rekognition, seen through run
history: stubbed DetectLabels answers (AioStubber, validated against the service model) with two
LabelModelVersions."""

from __future__ import annotations

from typing import Any

import aioboto3
from aiobotocore.stub import AioStubber

from catalog.domain.model import TenantConfig
from mediasight.bootstrap import Services
from tests.api.test_reprocess import REPROCESS, gql
from tests.conftest import jpeg_bytes, make_tenant
from tests.indexer.recognizers.rekognition.stubs import use_rekognition


def labels(version: str, *named: tuple[str, float]) -> dict[str, Any]:
    return {
        "Labels": [
            {"Name": n, "Confidence": c, "Instances": [], "Parents": [{"Name": "Animal"}]} for n, c in named
        ]
        + [{"Name": "Animal", "Confidence": max(c for _, c in named), "Instances": [], "Parents": []}],
        "LabelModelVersion": version,
    }


MODEL_REPORT = """query ($from: String!, $to: String!) {
  modelChangeReport(analyzer: "labels", fromVersion: $from, toVersion: $to) {
    assetsCompared assetsChanged topLabelChanged labelsGained { name count } labelsLost { name count }
    changedAssets { edges { node { id } topLabelBefore topLabelAfter } }
  } }"""
DIFF = """query ($id: ID!) { asset(id: $id) {
  runs(analyzer: "labels") { provider modelVersion }
  diff { labels { added { name } removed { name } changed { name before after delta } } }
} }"""


async def test_a_model_version_change_is_reported(services: Services, aws_env: None) -> None:
    tenant, _ = await make_tenant(services, "cloud")
    await services.catalog.set_tenant_config(tenant, TenantConfig(providers={"labels": "rekognition"}))
    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as client:
        use_rekognition(services, client)
        with AioStubber(client) as stub:
            stub.add_response("detect_labels", labels("3.0", ("Dog", 90.0), ("Cat", 60.0)))
            stub.add_response("detect_labels", labels("3.0", ("Dog", 80.0)))
            ids = []
            for color in ((200, 20, 20), (20, 20, 200)):
                outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), "x.jpg")
                assert outcome.asset is not None
                ids.append(outcome.asset.id)
                await services.worker().run_until_idle()  # one at a time: stubbed answers are ordered
            stub.assert_no_pending_responses()

            # the provider updated its model: one asset changes, the other gets the same answer
            stub.add_response("detect_labels", labels("3.1", ("Dog", 95.0), ("Wolf", 60.0)))
            stub.add_response("detect_labels", labels("3.1", ("Dog", 80.0)))
            for asset_id in ids:
                payload = await gql(services, tenant, REPROCESS, ids=[asset_id], analyzers=["labels"])
                assert payload["reprocess"]["error"] is None
                await services.worker().run_until_idle()
            stub.assert_no_pending_responses()

    report = (await gql(services, tenant, MODEL_REPORT, **{"from": "3.0", "to": "3.1"}))["modelChangeReport"]
    assert (report["assetsCompared"], report["assetsChanged"]) == (2, 1)
    assert report["labelsGained"] == [{"name": "Wolf", "count": 1}]
    assert report["labelsLost"] == [{"name": "Cat", "count": 1}]
    [edge] = report["changedAssets"]["edges"]
    assert edge["node"]["id"] == ids[0] and edge["topLabelBefore"] == edge["topLabelAfter"] == "Dog"

    asset = (await gql(services, tenant, DIFF, id=ids[0]))["asset"]
    assert [r["modelVersion"] for r in asset["runs"]] == ["3.1", "3.0"]
    diff = asset["diff"]["labels"]
    assert [a["name"] for a in diff["added"]] == ["Wolf"] and [r["name"] for r in diff["removed"]] == ["Cat"]
    assert {c["name"]: c["delta"] for c in diff["changed"]} == {"Dog": 5.0, "Animal": 5.0}


async def test_switching_a_tenant_to_rekognition(services: Services, aws_env: None) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((200, 20, 20)), "red.jpg")
    assert outcome.asset is not None
    await services.worker().run_until_idle()
    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as client:
        use_rekognition(services, client)
        with AioStubber(client) as stub:
            stub.add_response("detect_labels", labels("3.1", ("Dog", 95.0)))
            payload = await gql(services, tenant, REPROCESS, ids=[outcome.asset.id], provider="rekognition")
            assert payload["reprocess"]["error"] is None
            await services.worker().run_until_idle()
            stub.assert_no_pending_responses()
    asset = (await gql(services, tenant, DIFF, id=outcome.asset.id))["asset"]
    assert [r["provider"] for r in asset["runs"]] == ["rekognition", "local"]
    diff = asset["diff"]["labels"]
    assert {a["name"] for a in diff["added"]} == {"Dog", "Animal"}
    assert {r["name"] for r in diff["removed"]} == {"Red", "Color"}
