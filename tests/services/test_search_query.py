"""services.search_query: one filter selects the same assets whichever entrypoint it comes through (GraphQL
`reprocess(filter:)` and `mediasight reprocess --label`), the tenant's synonyms included."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from catalog.domain.model import BatchStatus, TenantConfig
from catalog.domain.ports import LabelMatch, SearchHit, SearchPage, SortOrder
from catalog.domain.run_ports import BatchItemState
from catalog.domain.tone import MONOCHROME
from mediasight.bootstrap import Services
from mediasight.reprocess_cli import start_or_resume
from services.reprocessing.requests import ReprocessError, ReprocessRequest
from services.search_query import (
    MAX_PAGE,
    InvalidSearch,
    SearchQueries,
    SearchSpec,
    as_asked,
    build_query,
)
from tests.api.test_reprocess import ingest, reprocess
from tests.conftest import make_tenant

SYNONYMS = TenantConfig(synonyms=(("crimson", "red"),))


def test_synonyms_widen_labels_and_share_thresholds() -> None:
    spec = SearchSpec(labels=("Crimson",), not_labels=("blue",), label_confidence=(("red", 70.0),))
    query = build_query(spec, SYNONYMS)
    assert {n.lower() for n in query.labels} == {"crimson", "red"}
    assert query.not_labels == ("blue",)
    assert query.label_confidence == {"red": 70.0, "crimson": 70.0}
    assert query.synonyms == SYNONYMS.synonyms
    assert build_query(spec, TenantConfig()).labels == ("Crimson",)  # no synonyms, no widening


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (SearchSpec(labels=("",)), "`filter.labels` has an empty name"),
        (SearchSpec(persons=tuple(str(i) for i in range(51))), "at most 50"),
        (SearchSpec(min_confidence=101), "percentage"),
        (SearchSpec(first=MAX_PAGE + 1), "`first` must be between 1 and"),
        (SearchSpec(phrase="x" * 501), "`filter.text` is longer"),
    ],
)
def test_a_search_that_cannot_run_says_what_to_change(spec: SearchSpec, says: str) -> None:
    with pytest.raises(InvalidSearch, match=says):
        build_query(spec, TenantConfig())


async def _items(services: Services, tenant: str, batch_id: str) -> set[str]:
    return set(
        await services.catalog.batch_items(tenant, batch_id, BatchItemState.DONE, after=None, limit=100)
    )


async def test_cli_label_and_graphql_filter_select_the_same_assets_with_synonyms(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await services.catalog.set_tenant_config(tenant, SYNONYMS)
    colors = {"red": (240, 20, 20), "blue": (20, 20, 200), "green": (20, 200, 20)}
    ids = await ingest(services, tenant, colors)

    # GraphQL: the filter batch is resolved by a worker in the background.
    payload = await reprocess(services, tenant, filter={"labels": ["crimson"]})
    await services.worker().run_until_idle()
    api_batch = await services.catalog.get_batch(tenant, payload["batch"]["id"])
    assert api_batch is not None and api_batch.status == BatchStatus.COMPLETED

    # CLI: `mediasight reprocess --tenant acme --label crimson`, prepared in the CLI's process.
    cli_batch = await start_or_resume(
        services, tenant, resume=None, asset_ids=[], labels=["crimson"], request=ReprocessRequest()
    )
    await services.worker().run_until_idle()

    selected = await _items(services, tenant, cli_batch.id)
    assert selected == await _items(services, tenant, api_batch.id) == {ids["red"]}
    # Both ask the index the same question: the one the service layer builds.
    built = await services.queries.selection(tenant, SearchSpec(labels=("crimson",)))
    assert built.sort == SortOrder.CREATED and {n.lower() for n in built.labels} == {"crimson", "red"}


async def test_cli_label_that_cannot_run_is_a_reprocess_error(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    with pytest.raises(ReprocessError, match="--label has an empty name"):
        await start_or_resume(
            services, tenant, resume=None, asset_ids=[], labels=[" "], request=ReprocessRequest()
        )


async def test_a_text_is_embedded_once_while_it_is_asked_again(services: Services) -> None:
    calls: list[list[str]] = []

    class Counting:
        name, version = "counting", "1"

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            calls.append(list(texts))
            return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    queries = SearchQueries(services.catalog, services.cpu, Counting())
    tenant, _ = await make_tenant(services, "acme")
    first = await queries.with_meaning(await queries.build(tenant, SearchSpec(text=" kitten ")))
    again = await queries.with_meaning(await queries.build(tenant, SearchSpec(text="kitten", first=5)))
    other = await queries.with_meaning(await queries.build(tenant, SearchSpec(text="puppy")))
    assert calls == [["kitten"], ["puppy"]]  # the second "kitten" (stripped) reused the first's
    assert first.text_embedding == again.text_embedding == (6.0, 1.0)
    assert other.text_embedding == (5.0, 1.0)


async def test_a_tone_the_text_names_filters_and_the_rest_is_searched_and_embedded(
    services: Services,
) -> None:
    calls: list[list[str]] = []

    class Recording:
        name, version = "recording", "1"

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            calls.append(list(texts))
            return np.ones((len(texts), 2), dtype=np.float32)

    queries = SearchQueries(services.catalog, services.cpu, Recording())
    tenant, _ = await make_tenant(services, "acme")
    ship = await queries.with_meaning(
        await queries.build(tenant, SearchSpec(text="black and white photo of a ship"))
    )
    assert (ship.tone, ship.text) == (MONOCHROME, "ship") and ship.text_embedding == (1.0, 1.0)
    alone = await queries.with_meaning(await queries.build(tenant, SearchSpec(text="sepia photos")))
    assert (alone.tone, alone.text, alone.text_embedding) == (MONOCHROME, None, None)
    cat = await queries.with_meaning(await queries.build(tenant, SearchSpec(text="a black and white cat")))
    assert (cat.tone, cat.text) == ("", "a black and white cat")
    assert calls == [["ship"], ["a black and white cat"]]  # the words that named the tone are not meant


def test_a_match_through_a_synonym_names_the_synonym_asked_for() -> None:
    """README: `via` is the label itself, a parent, or a tenant synonym: "Raubkatze" (typed), not the
    "big cat" it stands for; a parent or the label itself is left as it matched."""
    synonyms = (("Big Cat", "Raubkatze"),)
    page = SearchPage(
        total=3,
        hits=(
            SearchHit("a1", 96.8, matches=(LabelMatch("Big Cat", 96.8, "big cat"),)),
            SearchHit("a2", 90.0, matches=(LabelMatch("Lion", 90.0, "big cat"),)),
            SearchHit("a3", 80.0, matches=(LabelMatch("Bird", 80.0, "animal"),)),
        ),
        has_next=False,
        end_cursor=None,
    )
    for spec in (SearchSpec(labels=("Raubkatze",)), SearchSpec(text="Raubkatze")):
        query = build_query(spec, TenantConfig(synonyms=synonyms))
        vias = [m.via for h in as_asked(page, spec, query).hits for m in h.matches]
        assert [v.casefold() for v in vias] == ["raubkatze", "raubkatze", "animal"]
    direct = SearchSpec(labels=("Big Cat",))
    answered = as_asked(page, direct, build_query(direct, TenantConfig(synonyms=synonyms)))
    assert [m.via for h in answered.hits for m in h.matches] == ["big cat", "big cat", "animal"]
