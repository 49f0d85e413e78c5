"""The schema through schema.execute: fast, with real storage and a fake recognizer at the port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from api.context import Context
from api.schema import schema
from catalog.domain.model import Stage, TenantConfig
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant

ROOT = Path(__file__).resolve().parents[2]

SEARCH = """
query ($query: String, $filter: SearchFilter, $first: Int, $after: String) {
  search(query: $query, filter: $filter, first: $first, after: $after) {
    totalCount
    edges {
      score cursor matches { label confidence via }
      node { id filename labels { name confidence parents } }
    }
    pageInfo { hasNextPage endCursor }
    facets { labels { value count } }
  }
}
"""


async def run(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def ingest_colors(services: Services, tenant: str) -> dict[str, str]:
    ids = {}
    for name, color in {"red": (240, 20, 20), "green": (20, 230, 20), "blue": (20, 20, 200)}.items():
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), f"{name}.jpg")
        assert outcome.asset is not None
        ids[name] = outcome.asset.id
    await services.worker().run_until_idle()
    return ids


async def test_search_by_parent_label_ranks_and_explains(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest_colors(services, tenant)
    data = await run(services, tenant, SEARCH, filter={"labels": ["COLOR"]})
    search = data["search"]
    assert search["totalCount"] == 3
    scores = [e["score"] for e in search["edges"]]
    assert scores == sorted(scores, reverse=True)
    assert {e["node"]["id"] for e in search["edges"]} == set(ids.values())
    assert all(e["matches"][0]["via"] == "color" for e in search["edges"])
    assert {f["value"]: f["count"] for f in search["facets"]["labels"]} == {
        "Color": 3,
        "Red": 1,
        "Green": 1,
        "Blue": 1,
    }
    red = await run(services, tenant, SEARCH, query="red")
    assert [e["node"]["id"] for e in red["search"]["edges"]] == [ids["red"]]


async def test_pages_follow_the_cursor(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await ingest_colors(services, tenant)
    first = (await run(services, tenant, SEARCH, first=2))["search"]
    assert first["pageInfo"]["hasNextPage"] and len(first["edges"]) == 2
    rest = (await run(services, tenant, SEARCH, first=2, after=first["pageInfo"]["endCursor"]))["search"]
    assert not rest["pageInfo"]["hasNextPage"] and len(rest["edges"]) == 1
    seen = {e["node"]["id"] for e in first["edges"] + rest["edges"]}
    assert len(seen) == 3


async def test_asset_by_id_is_tenant_scoped(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    ids = await ingest_colors(services, acme)
    query = "query ($id: ID!) { asset(id: $id) { id status labels { name } renditions { kind url width } } }"
    mine = (await run(services, acme, query, id=ids["red"]))["asset"]
    assert mine["status"] == "INDEXED" and {r["kind"] for r in mine["renditions"]} == {"thumbnail", "preview"}
    assert (await run(services, other, query, id=ids["red"]))["asset"] is None
    assert (await run(services, other, query, id="not-a-uuid"))["asset"] is None
    nothing = (await run(services, other, SEARCH, filter={"labels": ["color"]}))["search"]
    assert nothing["totalCount"] == 0 and nothing["edges"] == [] and nothing["facets"]["labels"] == []


async def test_limits_give_clear_errors(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ctx = Context(services, tenant)
    too_big = await schema.execute("{ search(first: 1000) { totalCount } }", context_value=ctx)
    assert too_big.errors and "between 1 and 100" in too_big.errors[0].message
    aliases = "{ " + " ".join(f"a{i}: search {{ totalCount }}" for i in range(40)) + " }"
    many = await schema.execute(aliases, context_value=ctx)
    assert many.errors and "aliases" in many.errors[0].message.lower()
    bad_cursor = await schema.execute('{ search(after: "zzz") { totalCount } }', context_value=ctx)
    assert bad_cursor.errors and "endCursor" in bad_cursor.errors[0].message
    for field in ("labels", "allLabels", "notLabels", "persons"):  # [""] must not widen to everything
        empty = await schema.execute(
            f'{{ search(filter: {{{field}: [" "]}}) {{ totalCount }} }}', context_value=ctx
        )
        assert empty.errors and f"`filter.{field}` has an empty name" in empty.errors[0].message
    sixty = ", ".join(f'{{label: "l{i}", minConfidence: 50}}' for i in range(60))
    thresholds = await schema.execute(
        f"{{ search(filter: {{labelConfidence: [{sixty}]}}) {{ totalCount }} }}", context_value=ctx
    )
    assert thresholds.errors and "`filter.labelConfidence` takes at most" in thresholds.errors[0].message


def test_schema_file_is_up_to_date() -> None:
    exported = subprocess.run(
        [sys.executable, "-m", "mediasight", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert (ROOT / "schema.graphql").read_text() == exported, "schema.graphql is stale: run `make schema`"


async def test_tenant_synonyms_sort_and_facets(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest_colors(services, tenant)
    await services.catalog.set_tenant_config(tenant, TenantConfig(synonyms=(("Red", "Crimson"),)))
    data = await run(services, tenant, SEARCH, filter={"labels": ["crimson"]})
    assert [e["node"]["id"] for e in data["search"]["edges"]] == [ids["red"]]
    every = await run(services, tenant, SEARCH, filter={"allLabels": ["crimson", "color"]})
    assert [e["node"]["id"] for e in every["search"]["edges"]] == [ids["red"]]
    newest = await run(
        services,
        tenant,
        '{ search(sort: CREATED, filter: {notLabels: ["crimson"]}) { edges { node { filename } } '
        "facets { mediaTypes { value count } persons { value } captureYears { value } } } }",
    )
    assert [e["node"]["filename"] for e in newest["search"]["edges"]] == ["blue.jpg", "green.jpg"]
    assert newest["search"]["facets"] == {
        "mediaTypes": [{"value": "image/jpeg", "count": 2}], "persons": [], "captureYears": []
    }  # fmt: skip


async def test_costly_queries_are_refused_before_running(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ctx = Context(services, tenant)
    heavy = """{ search(first: 100) { edges { node {
      similarAssets(first: 50) { asset { versionTree { asset { labels { name parents } filename } } } }
    } } } }"""
    refused = await schema.execute(heavy, context_value=ctx)
    assert (
        refused.errors
        and "query cost" in refused.errors[0].message
        and "smaller pages" in refused.errors[0].message
    )
    paged = await schema.execute(
        "query ($n: Int!) { search(first: $n) { edges { node {"
        " similarAssets(first: 50) { distance asset { id filename labels { name } } } } } } }",
        variable_values={"n": 100},
        context_value=ctx,
    )
    assert paged.errors and "query cost" in paged.errors[0].message  # variables count too
    fine = await schema.execute(
        "{ search(first: 100) { edges { node { id labels { name } } } } }", context_value=ctx
    )
    assert fine.errors is None
    # Few aliases, each a whole index query (total, facets): refused by cost, not by the alias limit.
    searches = "{ " + " ".join(f"a{i}: search {{ totalCount }}" for i in range(12)) + " }"
    many = await schema.execute(searches, context_value=ctx)
    assert many.errors and "query cost" in many.errors[0].message
    tabs = "{ " + " ".join(f"a{i}: search {{ totalCount }}" for i in range(4)) + " }"
    assert (await schema.execute(tabs, context_value=ctx)).errors is None


STATUS = """query ($filter: SearchFilter, $first: Int, $after: String, $query: String) {
  search(filter: $filter, first: $first, after: $after, query: $query) {
    totalCount edges { node { id status error } } pageInfo { hasNextPage endCursor } } }"""


async def test_search_by_status_lists_failed_assets_from_the_catalog(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    ids = await ingest_colors(services, tenant)
    await services.catalog.set_stage(tenant, ids["red"], Stage.FAILED, "decoder exploded")
    await services.catalog.set_stage(tenant, ids["blue"], Stage.FAILED, "too big")
    failed = (await run(services, tenant, STATUS, filter={"status": ["FAILED"]}, first=1))["search"]
    assert failed["totalCount"] == 2 and failed["pageInfo"]["hasNextPage"]
    assert failed["edges"][0]["node"] == {"id": ids["blue"], "status": "FAILED", "error": "too big"}
    after = failed["pageInfo"]["endCursor"]
    rest = (await run(services, tenant, STATUS, filter={"status": ["FAILED"]}, after=after))["search"]
    assert [e["node"]["id"] for e in rest["edges"]] == [ids["red"]] and not rest["pageInfo"]["hasNextPage"]
    indexed = (await run(services, tenant, STATUS, filter={"status": ["INDEXED"]}))["search"]
    assert indexed["totalCount"] == 3  # the index still holds what it held: INDEXED means "search the index"
    assert (await run(services, other, STATUS, filter={"status": ["FAILED"]}))["search"]["totalCount"] == 0
    for variables in (
        {"filter": {"status": ["FAILED"], "labels": ["red"]}},
        {"filter": {"status": ["FAILED"]}, "query": "red"},
    ):
        result = await schema.execute(
            STATUS, variable_values=variables, context_value=Context(services, tenant)
        )
        assert result.errors and "INDEXED" in result.errors[0].message


async def test_face_match_threshold_out_of_range_is_a_clear_error(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest_colors(services, tenant)
    query = "query ($id: ID!) { faceMatches(assetId: $id, faceIndex: 0, threshold: 150) { similarity } }"
    result = await schema.execute(
        query, variable_values={"id": ids["red"]}, context_value=Context(services, tenant)
    )
    assert result.errors and "0 to 100" in result.errors[0].message
