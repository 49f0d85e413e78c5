"""Human review over HTTP: rules create tasks as assets are indexed, reviewer keys see only their queue,
answers become a human run that the asset, its runs, diffs and the change feed show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from api.app import create_app
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def gql(client: httpx.AsyncClient, key: str, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {key}"}
    )
    body: dict[str, Any] = response.json()
    return body


RULES = """mutation ($r: ReviewRulesInput!) { setReviewRules(rules: $r) {
  rules { watchedLabels bandLow bandHigh answersPerTask goldRate } error { code message } } }"""
NEXT = "{ nextReviewTasks(count: 5) { id question { kind label prompt choices } image { url width } } }"
SUBMIT = """mutation ($t: ID!, $a: ReviewAnswerInput!) { submitReview(taskId: $t, answer: $a) {
  accepted error { code message } } }"""


async def add_reviewer(client: httpx.AsyncClient, admin: str, name: str) -> str:
    added = await gql(
        client, admin, "mutation ($n: String!) { addReviewer(name: $n) { secret error { code } } }", n=name
    )
    secret: str = added["data"]["addReviewer"]["secret"]
    return secret


async def test_rules_to_human_run(client: httpx.AsyncClient, services: Services) -> None:
    tenant, admin = await make_tenant(services, "acme")
    bad = await gql(client, admin, RULES, r={"bandLow": 80, "bandHigh": 20})
    assert bad["data"]["setReviewRules"]["error"]["code"] == "BAD_RULES"
    ok = await gql(client, admin, RULES, r={"watchedLabels": ["Red"], "answersPerTask": 2, "goldRate": 0})
    assert ok["data"]["setReviewRules"]["rules"]["watchedLabels"] == ["Red"]

    red = await services.ingestor.ingest(tenant, jpeg_bytes((240, 20, 20)), "red.jpg")
    blue = await services.ingestor.ingest(tenant, jpeg_bytes((20, 20, 230)), "blue.jpg")
    assert red.asset and blue.asset
    await services.worker().run_until_idle()  # the after-indexing hook applies the rules

    tasks = (await gql(client, admin, "{ reviewTasks { id assetId status reason question { label } } }"))[
        "data"
    ]
    assert [(t["assetId"], t["reason"], t["question"]["label"]) for t in tasks["reviewTasks"]] == [
        (red.asset.id, "WATCHED", "Red")
    ]
    ann, bob = await add_reviewer(client, admin, "Ann"), await add_reviewer(client, admin, "Bob")
    # A reviewer key sees its queue, not the archive.
    denied = await gql(client, ann, "{ search { totalCount } }")
    assert denied["data"] is None and "'read' scope" in denied["errors"][0]["message"]
    assert "reviewer's key" in (await gql(client, admin, NEXT))["errors"][0]["message"]

    for key in (ann, bob):
        (item,) = (await gql(client, key, NEXT))["data"]["nextReviewTasks"]
        assert item["question"] == {
            "kind": "VERIFY",
            "label": "Red",
            "prompt": "Does this picture show Red?",
            "choices": [],
        }
        assert "/renditions/" in item["image"]["url"]
        image = await client.get(item["image"]["url"].removeprefix("http://t"))
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        wrong = await gql(client, key, SUBMIT, t=item["id"], a={"choice": "Red"})
        assert wrong["data"]["submitReview"]["error"]["code"] == "BAD_ANSWER"
        said = await gql(client, key, SUBMIT, t=item["id"], a={"verdict": "NO"})
        assert said["data"]["submitReview"] == {"accepted": True, "error": None}
    assert (await gql(client, ann, NEXT))["data"]["nextReviewTasks"] == []

    done = await gql(
        client,
        admin,
        "{ reviewTasks(status: DONE) { consensus agreement runId answers { reviewer verdict } } }",
    )
    (task,) = done["data"]["reviewTasks"]
    assert task["consensus"] == "no" and task["agreement"] == 1.0 and task["runId"]
    assert sorted(a["reviewer"] for a in task["answers"]) == ["Ann", "Bob"]
    stats = await gql(
        client, admin, "{ reviewStats { open done gold agreement } reviewers { name answered paused } }"
    )
    assert stats["data"]["reviewStats"] == {"open": 0, "done": 1, "gold": 0, "agreement": 1.0}
    assert [(r["name"], r["paused"]) for r in stats["data"]["reviewers"]] == [("Ann", False), ("Bob", False)]

    await services.worker().run_until_idle()  # the refresh job re-indexes the asset from the catalog
    runs_query = 'query ($id: ID!) { asset(id: $id) { runs(analyzer: "review") { id provider parameters '
    runs = await gql(client, admin, runs_query + "labels { name confidence } } } }", id=red.asset.id)
    (run,) = runs["data"]["asset"]["runs"]
    assert run["id"] == task["runId"] and run["provider"] == "human"
    assert run["labels"] == [{"name": "Red", "confidence": 0.0}]
    assert sorted(run["parameters"]["reviewers"]) == ["Ann", "Bob"]
    feed = await gql(
        client, admin, '{ changes(since: "2020-01-01T00:00:00Z", first: 10) { edges { assetId } } }'
    )
    assert red.asset.id in [e["assetId"] for e in feed["data"]["changes"]["edges"]]


ASSET_LABELS = """query ($id: ID!) { asset(id: $id) {
  labels { name confidence source } machine: labels(source: MACHINE) { name source }
  human: labels(source: HUMAN) { name confidence source } } }"""
SEARCH = """query ($f: SearchFilter) { search(filter: $f) { edges { node { id } } } }"""


async def test_human_verdicts_in_labels_and_search(client: httpx.AsyncClient, services: Services) -> None:
    tenant, admin = await make_tenant(services, "acme")
    await gql(client, admin, RULES, r={"answersPerTask": 1, "goldRate": 0})
    red = await services.ingestor.ingest(tenant, jpeg_bytes((240, 20, 20)), "red.jpg")
    green = await services.ingestor.ingest(tenant, jpeg_bytes((20, 230, 20)), "green.jpg")
    assert red.asset and green.asset
    await services.worker().run_until_idle()
    ask = (
        "mutation ($ids: [ID!]!, $l: String) { requestReview(assetIds: $ids, label: $l) { error { code } } }"
    )
    assert (await gql(client, admin, ask, ids=[red.asset.id], l="Red"))["data"]["requestReview"][
        "error"
    ] is None
    assert (await gql(client, admin, ask, ids=[green.asset.id], l="Green"))["data"]["requestReview"][
        "error"
    ] is None
    missing = await gql(client, admin, ask, ids=["01a24943-eced-7701-9f47-9947d195f122"], l="Red")
    assert missing["data"]["requestReview"]["error"]["code"] == "NOT_FOUND"
    ann = await add_reviewer(client, admin, "Ann")
    vocab = (await gql(client, ann, "{ reviewVocabulary }"))["data"]["reviewVocabulary"]
    assert {"Red", "Green", "Color"} <= set(vocab)
    items = (await gql(client, ann, NEXT))["data"]["nextReviewTasks"]
    for item in items:  # Red: yes; Green: no
        verdict = "YES" if item["question"]["label"] == "Red" else "NO"
        assert (await gql(client, ann, SUBMIT, t=item["id"], a={"verdict": verdict}))["data"]["submitReview"][
            "accepted"
        ]
    await services.worker().run_until_idle()

    shown = (await gql(client, admin, ASSET_LABELS, id=red.asset.id))["data"]["asset"]
    assert shown["labels"][0] == {"name": "Red", "confidence": 100.0, "source": "HUMAN"}
    assert {"name": "Red", "source": "MACHINE"} in shown["machine"]
    assert shown["human"] == [{"name": "Red", "confidence": 100.0, "source": "HUMAN"}]
    green_shown = (await gql(client, admin, ASSET_LABELS, id=green.asset.id))["data"]["asset"]
    assert "Green" not in [lb["name"] for lb in green_shown["labels"]]  # a human no: out of current labels
    assert {"name": "Green", "source": "MACHINE"} in green_shown["machine"]  # kept in the machine's run

    def found(result: dict[str, Any]) -> list[str]:
        return [e["node"]["id"] for e in result["data"]["search"]["edges"]]

    assert found(await gql(client, admin, SEARCH, f={"labels": ["Green"]})) == []
    assert found(await gql(client, admin, SEARCH, f={"labels": ["Color"]})) == [red.asset.id, green.asset.id]
    human = await gql(client, admin, SEARCH, f={"labels": ["Red", "Color"], "labelSource": ["HUMAN"]})
    assert found(human) == [red.asset.id]
    machine = await gql(client, admin, SEARCH, f={"labels": ["Red"], "labelSource": ["MACHINE"]})
    assert found(machine) == []  # review confirmed it: a human label now
    both = await gql(client, admin, SEARCH, f={"labels": ["Red"], "labelSource": ["MACHINE", "HUMAN"]})
    assert found(both) == [red.asset.id]


SWEEP = "mutation { applyReviewRules { batch { id status total } error { code message } } }"
BATCH = "query ($id: ID!) { reprocessBatch(id: $id) { status total done failed progress } }"


async def test_rules_on_the_archive_are_a_tracked_batch(
    client: httpx.AsyncClient, services: Services
) -> None:
    tenant, admin = await make_tenant(services, "acme")
    none = await gql(client, admin, SWEEP)
    assert none["data"]["applyReviewRules"] == {"batch": None, "error": {"code": "NO_RULES", "message": ANY}}
    ids = []
    for color in [(240, 20, 20), (20, 20, 230), (235, 25, 25)]:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), "c.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    await services.worker().run_until_idle()  # indexed before there were rules: no tasks yet
    await gql(client, admin, RULES, r={"watchedLabels": ["Red"]})

    started = (await gql(client, admin, SWEEP))["data"]["applyReviewRules"]
    assert started["error"] is None and started["batch"]["status"] == "PREPARING"
    assert (await gql(client, admin, "{ reviewTasks { id } }"))["data"]["reviewTasks"] == []  # queued only
    await services.worker().run_until_idle()
    batch = (await gql(client, admin, BATCH, id=started["batch"]["id"]))["data"]["reprocessBatch"]
    assert batch == {"status": "COMPLETED", "total": 3, "done": 3, "failed": 0, "progress": 1.0}
    tasks = (await gql(client, admin, "{ reviewTasks { assetId reason } }"))["data"]["reviewTasks"]
    assert sorted(t["assetId"] for t in tasks) == sorted([ids[0], ids[2]])  # the two red ones
    assert {t["reason"] for t in tasks} == {"WATCHED"}

    again = (await gql(client, admin, SWEEP))["data"]["applyReviewRules"]["batch"]
    await services.worker().run_until_idle()
    batch = (await gql(client, admin, BATCH, id=again["id"]))["data"]["reprocessBatch"]
    assert batch["status"] == "COMPLETED" and batch["done"] == 3
    assert len((await gql(client, admin, "{ reviewTasks { id } }"))["data"]["reviewTasks"]) == 2
