"""The embedded index's planners opt in: a fast path names the SearchQuery fields it handles, and a query
that sets any other field takes the general path. Shown by adding a filter the way a developer would (a
field on the query, honoured in the general path's WHERE clauses) and touching no planner."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from catalog.domain.model import Label
from catalog.domain.ports import PAGE_FIELDS, SearchQuery, SortOrder
from catalog.sqlite.search import intersect as search_intersect
from catalog.sqlite.search import sql as search_sql
from catalog.sqlite.search import text as search_text
from catalog.sqlite.search import topk as search_topk
from catalog.sqlite.search.index import SqliteSearchIndex
from tests.catalog.sqlite.search.test_index import DOG, doc, index

__all__ = ["index"]


@dataclasses.dataclass(frozen=True)
class WithFilename(SearchQuery):
    """A query with a new filter: only assets whose file is called this."""

    filename: str | None = None


@pytest.fixture
def general_path_honours_filename(monkeypatch: pytest.MonkeyPatch) -> None:
    filters = search_sql.filters

    def with_filename(tenant_id: str, query: SearchQuery) -> tuple[list[str], list[Any]]:
        clauses, params = filters(tenant_id, query)
        name = getattr(query, "filename", None)
        if name is not None:
            clauses, params = [*clauses, "d.filename = ?"], [*params, name]
        return clauses, params

    monkeypatch.setattr(search_sql, "filters", with_filename)


async def _archive(index: SqliteSearchIndex) -> None:
    dog = [Label(n, 90.0 - i, DOG[i + 1 :]) for i, n in enumerate(DOG)]
    cat = Label("Cat", 80.0, ("Mammal", "Animal"))
    for i in range(6):
        found = doc("t1", f"a{i}", *(dog if i % 2 else [cat, *dog[3:]]))
        await index.upsert(dataclasses.replace(found, filename="keep.jpg" if i < 2 else f"{i}.jpg"))


@pytest.mark.usefixtures("general_path_honours_filename")
@pytest.mark.parametrize(
    "query",
    [
        WithFilename(labels=("Dog",), filename="keep.jpg"),  # a plain label query: the fast path's own
        WithFilename(not_labels=("Cat",), filename="keep.jpg", sort=SortOrder.CREATED),  # the intersection's
        WithFilename(all_labels=("Dog", "Mammal"), filename="keep.jpg"),
    ],
)
async def test_a_new_filter_takes_the_general_path_and_is_honoured(
    index: SqliteSearchIndex, query: WithFilename
) -> None:
    await _archive(index)
    assert not search_topk.answers(query) and not search_intersect.answers(query)
    page = await index.search("t1", query)
    assert [h.asset_id for h in page.hits] == ["a1"]  # a1 is the only dog named keep.jpg
    assert page.total == 1
    assert sum(f.count for f in page.media_type_facets) == 1
    without = await index.search("t1", dataclasses.replace(query, filename=None))
    assert without.total == 3  # the fast paths still answer the query without it


def test_each_path_names_only_fields_the_query_has() -> None:
    fields = {f.name for f in dataclasses.fields(SearchQuery)}
    for path in (search_topk, search_intersect, search_text):
        assert fields - PAGE_FIELDS >= path.HANDLES
    assert WithFilename(filename="x").fields_set() == {"filename"}
    assert SearchQuery(first=5, after="c", sort=SortOrder.CREATED).fields_set() == frozenset()
    assert search_topk.answers(SearchQuery(labels=("Dog",), min_confidence=50, exclude_moderation=True))
