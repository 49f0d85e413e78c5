"""Property: whatever IDs, names or labels tenant B guesses, nothing of tenant A reaches it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.context import Context
from api.schema import schema
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessRequest
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler

World = tuple[asyncio.AbstractEventLoop, Services, str, list[str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Tenant A with three indexed assets; B with none. Its own loop: hypothesis drives sync tests."""
    loop = asyncio.new_event_loop()
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("iso") / "data", analyzers="labels", semantic_search=False
    )
    services = build(settings_, labeler=ColorLabeler())

    async def setup() -> tuple[str, list[str]]:
        a, _ = await make_tenant(services, "a")
        b, _ = await make_tenant(services, "b")
        ids = []
        for color in ((250, 5, 5), (5, 250, 5), (5, 5, 250)):
            outcome = await services.ingestor.ingest(a, jpeg_bytes(color), "secret.jpg")
            assert outcome.asset is not None
            ids.append(outcome.asset.id)
        await services.worker().run_until_idle()
        batch = await services.reprocess.start(a, ids, ReprocessRequest(parameters={"min_confidence": 90}))
        await services.worker().run_until_idle()
        return b, [*ids, batch.id]  # every ID of A's a guess could aim at: assets and a batch

    b, ids = loop.run_until_complete(setup())
    yield loop, services, b, ids
    services.close()
    loop.close()


def run(world: World, document: str, **variables: Any) -> dict[str, Any]:
    loop, services, b, _ = world
    result = loop.run_until_complete(
        schema.execute(document, variable_values=variables, context_value=Context(services, b))
    )
    assert result.data is not None, result.errors
    return result.data


def errors(world: World, document: str, **variables: Any) -> list[str]:
    """The extensions.code of each error the document answers with."""
    loop, services, b, _ = world
    result = loop.run_until_complete(
        schema.execute(document, variable_values=variables, context_value=Context(services, b))
    )
    return [(e.extensions or {}).get("code", "") for e in result.errors or ()]


def guesses(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ids),
        st.sampled_from(ids).map(str.upper),
        st.builds(lambda: str(uuid.uuid4())),
        st.text(max_size=40),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_guessed_ids_reach_nothing(world: World, data: st.DataObject) -> None:
    guess = data.draw(guesses(world[3]))
    assert run(world, "query ($id: ID!) { asset(id: $id) { id } }", id=guess)["asset"] is None
    assert errors(
        world, "query ($id: ID!) { faceMatches(assetId: $id, faceIndex: 0) { faceIndex } }", id=guess
    ) == ["NOT_FOUND"]
    named = run(
        world,
        'mutation ($id: ID!) { nameFace(assetId: $id, faceIndex: 0, name: "Mallory") { person { id } } }',
        id=guess,
    )
    assert named["nameFace"]["person"] is None
    history = run(
        world,
        "query ($id: ID!) { reprocessBatch(id: $id) { id } batchReport(batchId: $id) { assetsChanged } }",
        id=guess,
    )
    assert history == {"reprocessBatch": None, "batchReport": None}
    started = run(
        world, "mutation ($id: ID!) { reprocess(assetIds: [$id]) { batch { id } error { code } } }", id=guess
    )["reprocess"]
    assert started["batch"] is None and started["error"]["code"] == "NOT_FOUND"


def test_run_history_shows_nothing(world: World) -> None:
    found = run(
        world,
        '{ changes(since: "2000-01-01T00:00:00Z") { edges { assetId } } reprocessBatches { id } '
        'modelChangeReport(analyzer: "labels", fromVersion: "1", toVersion: "2") { assetsCompared } '
        "search(filter: {status: [FAILED, STORED, INDEXED, RENDITIONS, ANALYZED]}) { totalCount } }",
    )
    assert found == {
        "changes": {"edges": []},
        "reprocessBatches": [],
        "modelChangeReport": {"assetsCompared": 0},
        "search": {"totalCount": 0},
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    labels=st.lists(st.sampled_from(["Red", "green", "BLUE", "Color", "color", "x"]), max_size=3),
    query=st.one_of(st.none(), st.sampled_from(["secret", "color", "red", "*", '"'])),
)
def test_searches_count_and_facet_nothing(world: World, labels: list[str], query: str | None) -> None:
    found = run(
        world,
        "query ($q: String, $f: SearchFilter) { search(query: $q, filter: $f) {"
        " totalCount edges { node { id } } facets { labels { value count } } } }",
        q=query,
        f={"labels": labels or None},
    )["search"]
    assert found == {"totalCount": 0, "edges": [], "facets": {"labels": []}}


def test_a_url_signed_for_tenant_b_never_serves_tenant_a_renditions(world: World) -> None:
    loop, services, b, ids = world

    async def fetch() -> int:
        app = create_app(services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            expires, sig = services.signer.sign(b, ids[0], "thumbnail")  # B's own valid signature, A's ID
            response = await client.get(f"/renditions/{ids[0]}/thumbnail?t={b}&e={expires}&s={sig}")
            return response.status_code

    assert loop.run_until_complete(fetch()) == 404
