"""Run history through GraphQL: reprocess batches, diffs, reports, the change feed and as-of reads.

Deterministic: the fake color labeler at the port under two configurations (default thresholds, then
min_confidence 60 and max_labels 1), real SQLite storage and the real worker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.context import Context
from api.schema import schema
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant

REPROCESS = """
mutation ($ids: [ID!], $filter: SearchFilter, $analyzers: [String!], $provider: String, $params: JSON) {
  reprocess(
    assetIds: $ids, filter: $filter, analyzers: $analyzers, provider: $provider, parameters: $params
  ) {
    batch { id status total done failed progress parameters }
    error { code message }
  }
}"""
BATCH = "query ($id: ID!) { reprocessBatch(id: $id) { status total done failed progress } }"
REPORT = """query ($id: ID!) { batchReport(batchId: $id) {
  assetsCompared assetsChanged topLabelChanged labelsGained { name count } labelsLost { name count }
  changedAssets(first: 1) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id } analyzers gained lost topLabelBefore topLabelAfter } }
} }"""
DIFF = """query ($id: ID!, $asOf: DateTime, $minDelta: Float! = 0) { asset(id: $id, asOf: $asOf) {
  labels { name confidence }
  runs(analyzer: "labels") { id status modelVersion parameters batchId labels { name } }
  diff(minDelta: $minDelta) { unchanged fromRun { id } toRun { id }
    labels { added { name confidence } removed { name confidence } changed { name before after delta } } }
} }"""
CHANGES = """query ($since: DateTime!, $first: Int! = 50, $after: String,
                   $order: ChangeOrder! = OLDEST_FIRST) {
  changes(since: $since, first: $first, after: $after, order: $order) {
    edges { cursor changedAt node { id } } pageInfo { hasNextPage endCursor } } }"""


TOMBSTONES = (
    """query ($since: DateTime!) { changes(since: $since) { edges { assetId deleted node { id } } } }"""
)


async def gql(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def ingest(services: Services, tenant: str, colors: dict[str, tuple[int, int, int]]) -> dict[str, str]:
    ids = {}
    for name, color in colors.items():
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), f"{name}.jpg")
        assert outcome.asset is not None
        ids[name] = outcome.asset.id
    await services.worker().run_until_idle()
    return ids


async def reprocess(services: Services, tenant: str, **variables: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql(services, tenant, REPROCESS, **variables))["reprocess"]
    if payload["batch"] is not None:
        await services.worker().run_until_idle()
    return payload


async def test_reprocess_with_other_parameters_tracks_diffs_reports_and_feed(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    # red: Red ~86 (+ its parent Color); mixed: Red ~53, above the default 50 but below 60
    ids = await ingest(services, tenant, {"red": (240, 20, 20), "mixed": (160, 90, 50)})
    before = datetime.now(UTC)
    params = {"min_confidence": 60, "labels.max_labels": "1"}
    payload = await reprocess(services, tenant, ids=list(ids.values()), analyzers=["labels"], params=params)
    assert payload["error"] is None
    batch = payload["batch"]
    assert batch["total"] == 2 and batch["parameters"] == {
        "labels": {"min_confidence": 60.0, "max_labels": 1}
    }
    done = (await gql(services, tenant, BATCH, id=batch["id"]))["reprocessBatch"]
    assert done == {"status": "COMPLETED", "total": 2, "done": 2, "failed": 0, "progress": 1.0}

    report = (await gql(services, tenant, REPORT, id=batch["id"]))["batchReport"]
    assert (report["assetsCompared"], report["assetsChanged"], report["topLabelChanged"]) == (2, 2, 1)
    assert report["labelsGained"] == []
    assert report["labelsLost"] == [{"name": "Color", "count": 2}, {"name": "Red", "count": 1}]
    page = report["changedAssets"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"]
    edge = page["edges"][0]
    assert edge["analyzers"] == ["labels"] and edge["node"]["id"] == min(ids.values())

    mixed = (await gql(services, tenant, DIFF, id=ids["mixed"]))["asset"]
    assert mixed["labels"] == []
    [new, old] = mixed["runs"]
    assert new["batchId"] == batch["id"] and new["labels"] == [] and old["batchId"] is None
    assert {lb["name"] for lb in old["labels"]} == {"Red", "Color"}
    diff = mixed["diff"]
    assert (diff["fromRun"]["id"], diff["toRun"]["id"]) == (old["id"], new["id"])
    assert sorted(r["name"] for r in diff["labels"]["removed"]) == ["Color", "Red"]
    assert diff["labels"]["added"] == [] and not diff["unchanged"]

    # as of before the batch, the old labels come back (and the diff compares the runs current then)
    then = (await gql(services, tenant, DIFF, id=ids["mixed"], asOf=before.isoformat()))["asset"]
    assert {lb["name"] for lb in then["labels"]} == {"Red", "Color"}
    assert [r["id"] for r in then["runs"]] == [old["id"]]
    assert then["diff"]["fromRun"] is None and then["diff"]["toRun"]["id"] == old["id"]

    feed = (await gql(services, tenant, CHANGES, since=before.isoformat()))["changes"]
    assert {e["node"]["id"] for e in feed["edges"]} == set(ids.values())
    first = (await gql(services, tenant, CHANGES, since=before.isoformat(), first=1))["changes"]
    rest = await gql(
        services, tenant, CHANGES, since=before.isoformat(), after=first["pageInfo"]["endCursor"]
    )
    assert [e["node"]["id"] for e in first["edges"] + rest["changes"]["edges"]] == [
        e["node"]["id"] for e in feed["edges"]
    ]
    # newest first: the same changes the other way round, paged with its own cursors
    since = before.isoformat()
    latest = (await gql(services, tenant, CHANGES, since=since, first=1, order="NEWEST_FIRST"))["changes"]
    older = await gql(
        services, tenant, CHANGES, since=since, after=latest["pageInfo"]["endCursor"], order="NEWEST_FIRST"
    )
    assert latest["pageInfo"]["hasNextPage"] and not older["changes"]["pageInfo"]["hasNextPage"]
    assert [e["node"]["id"] for e in latest["edges"] + older["changes"]["edges"]] == [
        e["node"]["id"] for e in reversed(feed["edges"])
    ]

    # the same configuration again changes nothing: no changed assets, the feed does not move
    again = datetime.now(UTC)
    second = await reprocess(services, tenant, ids=list(ids.values()), analyzers=["labels"], params=params)
    quiet = (await gql(services, tenant, REPORT, id=second["batch"]["id"]))["batchReport"]
    assert (quiet["assetsCompared"], quiet["assetsChanged"]) == (2, 0)
    assert (await gql(services, tenant, CHANGES, since=again.isoformat()))["changes"]["edges"] == []
    diff = (await gql(services, tenant, DIFF, id=ids["mixed"]))["asset"]["diff"]
    assert diff["unchanged"]

    # a deletion reaches the feed as a tombstone
    await gql(services, tenant, "mutation ($id: ID!) { deleteAsset(id: $id) { __typename } }", id=ids["red"])
    gone = (await gql(services, tenant, TOMBSTONES, since=again.isoformat()))["changes"]["edges"]
    assert gone == [{"assetId": ids["red"], "deleted": True, "node": None}]


async def test_reprocess_by_filter_and_search_follows_current_results(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(
        services, tenant, {"red": (240, 20, 20), "mixed": (160, 90, 50), "blue": (20, 20, 200)}
    )
    payload = await reprocess(services, tenant, filter={"labels": ["red"]}, params={"min_confidence": 60})
    # a filter batch is prepared by the worker: PREPARING with no total when returned, then resolved
    assert (payload["batch"]["status"], payload["batch"]["total"]) == ("PREPARING", 0)
    done = (await gql(services, tenant, BATCH, id=payload["batch"]["id"]))["reprocessBatch"]
    assert done == {"status": "COMPLETED", "total": 2, "done": 2, "failed": 0, "progress": 1.0}
    search = await gql(services, tenant, '{ search(filter: {labels: ["red"]}) { edges { node { id } } } }')
    assert [e["node"]["id"] for e in search["search"]["edges"]] == [ids["red"]]


async def test_reprocess_errors_are_typed_and_start_nothing(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    ids = await ingest(services, tenant, {"red": (240, 20, 20)})
    theirs = await ingest(services, other, {"blue": (20, 20, 200)})
    cases = [
        ({"ids": list(ids.values()), "params": {"threshold": 3}}, "UNKNOWN_PARAMETER"),
        ({"ids": list(ids.values()), "params": {"min_confidence": "high"}}, "INVALID_PARAMETER"),
        ({"ids": list(ids.values()), "params": ["min_confidence"]}, "INVALID_PARAMETER"),
        ({"ids": list(ids.values()), "analyzers": ["smell"]}, "UNKNOWN_ANALYZER"),
        ({"ids": list(ids.values()), "provider": "rekognition"}, "UNKNOWN_PROVIDER"),
        ({"ids": list(theirs.values())}, "NOT_FOUND"),
        ({"ids": ["not-an-id"]}, "NOT_FOUND"),
        ({"filter": {"status": ["FAILED"]}}, "INVALID_FILTER"),
        ({"filter": {"labels": ["x"] * 51}}, "INVALID_FILTER"),
        ({"filter": {}, "analyzers": ["smell"]}, "UNKNOWN_ANALYZER"),
        ({"filter": {}, "ids": ["not-an-id"]}, "NO_ASSETS"),
        ({}, "NO_ASSETS"),
    ]
    for variables, code in cases:
        payload = (await gql(services, tenant, REPROCESS, **variables))["reprocess"]
        assert payload["batch"] is None and payload["error"]["code"] == code, (variables, payload)
        assert payload["error"]["message"]
    assert await services.queue.pending() == 0


async def test_batches_and_reports_are_tenant_scoped(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    ids = await ingest(services, tenant, {"mixed": (160, 90, 50)})
    payload = await reprocess(services, tenant, ids=list(ids.values()), params={"min_confidence": 60})
    batch_id = payload["batch"]["id"]
    assert (await gql(services, other, BATCH, id=batch_id))["reprocessBatch"] is None
    assert (await gql(services, other, REPORT, id=batch_id))["batchReport"] is None
    assert (await gql(services, other, DIFF, id=ids["mixed"]))["asset"] is None
    since = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    assert (await gql(services, other, CHANGES, since=since))["changes"]["edges"] == []
    model = '{ modelChangeReport(analyzer: "labels", fromVersion: "1", toVersion: "2") { assetsChanged } }'
    assert (await gql(services, other, model))["modelChangeReport"]["assetsChanged"] == 0


FACE_DIFF = """query ($id: ID!) { asset(id: $id) {
  diff { pairs { analyzer } fromRun { analyzer } toRun { analyzer } faces {
    added { faceIndex } removed { faceIndex }
    personChanged { before { faceIndex } after { faceIndex } personBefore { name } personAfter { name } } } }
} }"""


async def test_a_face_named_between_runs_shows_as_a_person_change(services: Services) -> None:
    from catalog.domain.model import TenantConfig
    from indexer.analyzers import LocalAnalyzer
    from tests.api.test_rekognition_faces_graphql import colour_face

    services.analyzers.register(
        {
            ("faces", "local"): lambda: LocalAnalyzer(
                "faces", "fake-colour-face", "1", colour_face, services.cpu
            )
        }
    )
    tenant, _ = await make_tenant(services, "acme")
    await services.catalog.set_tenant_config(tenant, TenantConfig(analyzers=("faces",)))
    ids = await ingest(services, tenant, {"p1": (200, 60, 60), "p2": (190, 70, 70)})
    name = 'mutation ($id: ID!) { nameFace(assetId: $id, faceIndex: 0, name: "Ada") { facesNamed } }'
    named = await gql(services, tenant, name, id=ids["p1"])
    assert named["nameFace"]["facesNamed"] == 2
    await services.worker().run_until_idle()
    payload = await reprocess(services, tenant, ids=[ids["p2"]], analyzers=["faces"])
    assert payload["error"] is None
    diff = (await gql(services, tenant, FACE_DIFF, id=ids["p2"]))["asset"]["diff"]
    assert diff["pairs"] == [{"analyzer": "faces"}]  # by default every analyzer the asset ran
    assert diff["fromRun"]["analyzer"] == diff["toRun"]["analyzer"] == "faces"
    assert diff["faces"]["added"] == [] and diff["faces"]["removed"] == []
    [change] = diff["faces"]["personChanged"]
    assert change["personBefore"] is None and change["personAfter"] == {"name": "Ada"}
    report = (await gql(services, tenant, REPORT, id=payload["batch"]["id"]))["batchReport"]
    assert report["assetsChanged"] == 1 and report["changedAssets"]["edges"][0]["analyzers"] == ["faces"]


async def test_batches_list_and_their_failures(services: Services) -> None:
    from catalog.domain.model import Stage

    tenant, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    ids = await ingest(services, tenant, {"red": (240, 20, 20), "blue": (20, 20, 240)})
    await services.catalog.set_stage(tenant, ids["blue"], Stage.FAILED, "decoder exploded")
    payload = await reprocess(services, tenant, ids=list(ids.values()))
    listing = "{ reprocessBatches { id status done failed failures { assetId reason } } }"
    [batch] = (await gql(services, tenant, listing))["reprocessBatches"]
    assert batch["id"] == payload["batch"]["id"] and batch["status"] == "COMPLETED_WITH_FAILURES"
    [failure] = batch["failures"]
    assert failure["assetId"] == ids["blue"] and "decoder exploded" in failure["reason"]
    assert (await gql(services, other, listing))["reprocessBatches"] == []
