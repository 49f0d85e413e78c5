"""The text path (free text over the tenant's columns in memory) answers as the general path does, and its
columns follow every write: upserts, deletes, clear, rebuilds, and writes of another process."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from pathlib import Path

import numpy as np
import pytest

from catalog.domain.model import Label
from catalog.domain.ports import SearchQuery, SortOrder
from catalog.domain.tone import COLOUR, MONOCHROME
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.search import columns as search_columns
from catalog.sqlite.search import index as sqlite_search
from catalog.sqlite.search import text as search_text
from catalog.sqlite.search.index import SqliteSearchIndex
from tests.catalog.sqlite.search.test_index import (
    ID_STYLES,
    NOW,
    all_pages,
    doc,
    general_path,
    index,
    random_archive,
)

__all__ = ["index"]

TEXTS = (
    "dog",
    "Pet",
    "ANIMAL",
    "a01",
    "a1",
    "ada",
    "grace hopper",
    "vehicle",
    "nothing",
    "dog cat",
    '"',
    "hôtel",
)
MEANINGS = (None, (0.6, 0.8, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


def random_text_query(rng: random.Random) -> SearchQuery:
    tone = rng.choice(["", "", MONOCHROME, COLOUR])  # a tone the text named, maybe with nothing else
    return SearchQuery(
        text=rng.choice([*TEXTS, *([None] if tone else [])]),
        tone=tone,
        text_embedding=rng.choice(MEANINGS),
        min_confidence=rng.choice([0, 0, 50, 60.5, 101]),
        exclude_moderation=rng.random() < 0.3,
        media_types=rng.choice([(), (), ("image/png",), ("image/gif",)]),
        created_after=rng.choice([None, None, NOW.replace(day=9)]),
        created_before=rng.choice([None, None, NOW.replace(day=20)]),
        captured_after=rng.choice([None, None, NOW.replace(year=2005)]),
        captured_before=rng.choice([None, None, NOW.replace(year=2015)]),
        sort=rng.choice(list(SortOrder)),
        first=rng.choice([1, 3, 7, 40]),
    )


@pytest.mark.parametrize("ids", ID_STYLES)
async def test_text_queries_answer_as_the_general_path_does(index: SqliteSearchIndex, ids: str) -> None:
    rng = random.Random(len(ids))
    kept = await random_archive(index, rng, ID_STYLES[ids])
    for found in list(kept.values())[::5]:  # words in the image too
        await index.upsert(dataclasses.replace(found, text=rng.choice(["Grand Hôtel", "dog show", "pet"])))
    for found in list(kept.values())[1::2]:  # the others' tone unmeasured
        await index.upsert(dataclasses.replace(found, tone=rng.choice([MONOCHROME, COLOUR])))
    edges = [
        SearchQuery(text="dog", text_embedding=(0.6, 0.8, 0.0), sort=sort, first=4) for sort in SortOrder
    ] + [SearchQuery(text="pet", min_confidence=50), SearchQuery(text="a01", exclude_moderation=True)]
    checked = 0
    for query in edges + [random_text_query(rng) for _ in range(250)]:
        assert search_text.answers(query)
        fast = await all_pages(lambda q: index.search("t1", q), query)
        assert fast == await all_pages(general_path(index), query), query
        checked += fast[0].total
    assert checked > 1000  # the cases found something


def test_nearest_vectors_are_the_head_of_a_stable_sort() -> None:
    rng = np.random.default_rng(3)
    for n, k in ((10, 3), (2000, 1000), (1000, 10), (50, 50), (5, 10), (0, 3)):
        for similarity in (rng.choice([0.1, 0.5, 0.9], size=n), rng.random(n)):  # ties at the k-th, and none
            similarity = similarity.astype(np.float32)
            expected = np.argsort(-similarity, kind="stable")[:k]
            assert search_text._nearest(similarity, k).tolist() == expected.tolist(), (n, k)


def test_other_filters_take_the_general_path() -> None:
    assert search_text.answers(SearchQuery(text="dog", media_types=("image/png",), sort=SortOrder.CREATED))
    for other in (
        SearchQuery(text="dog", labels=("pet",)),
        SearchQuery(text="dog", persons=("Ada",)),
        SearchQuery(text="dog", phrase="grand"),
        SearchQuery(text="dog", roots_only=True),
        SearchQuery(text="  "),
        SearchQuery(labels=("dog",)),
    ):
        assert not search_text.answers(other), other


async def test_the_columns_follow_every_write(index: SqliteSearchIndex, tmp_path: Path) -> None:
    async def found(text: str = "dog") -> list[str]:
        page = await index.search("t1", SearchQuery(text=text, text_embedding=(1.0, 0.0, 0.0)))
        return [h.asset_id for h in page.hits]

    dog = Label("Dog", 80, ("Animal",))
    await index.upsert(doc("t1", "a1", dog))
    await index.upsert(doc("t2", "b1", dog))
    assert await found() == ["a1"]  # the columns are read now
    await index.upsert(doc("t1", "a2", Label("Dog", 90)))
    assert await found() == ["a2", "a1"]
    await index.upsert(doc("t1", "a2", Label("Cat", 90)))  # replaced: no longer a dog
    assert await found() == ["a1"] and await found("cat") == ["a2"]
    await index.delete("t1", "a1")
    assert await found() == []
    await index.upsert(dataclasses.replace(doc("t1", "a3"), embedding=(1.0, 0.0, 0.0)))
    assert await found() == ["a3"]  # by meaning alone
    await index.clear()
    assert await found() == [] and await found("cat") == []

    async def batches(tenant: str | None):  # type: ignore[no-untyped-def]
        yield [doc("t1", "r1", dog), doc("t2", "r2", dog)] if tenant is None else [doc("t1", "r3", dog)]

    await index.rebuild(batches(None))
    assert await found() == ["r1"]
    await index.rebuild(batches("t1"), tenant_id="t1")
    assert await found() == ["r3"]

    other = SqliteDb(index._db.path, sqlite_search.SCHEMA)  # another process's writer, on the same file
    try:
        await SqliteSearchIndex(other).upsert(doc("t1", "o1", Label("Dog", 99)))
    finally:
        other.close()
    assert await found() == ["o1", "r3"]
    assert (await index.search("t3", SearchQuery(text="dog"))).total == 0  # a tenant without documents


async def test_searches_at_once_read_the_columns_once(
    index: SqliteSearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    await index.upsert(doc("t1", "a1", Label("Dog", 80)))
    reads: list[str] = []
    read = search_columns.read

    def slow_read(conn, tenant_id, at):  # type: ignore[no-untyped-def]
        reads.append(tenant_id)
        time.sleep(0.3)  # the others arrive meanwhile
        return read(conn, tenant_id, at)

    monkeypatch.setattr(search_columns, "read", slow_read)
    pages = await asyncio.gather(*(index.search("t1", SearchQuery(text="dog")) for _ in range(4)))
    assert [[h.asset_id for h in p.hits] for p in pages] == [["a1"]] * 4
    assert reads == ["t1"]


async def test_columns_kept_are_bounded_by_tenants_and_bytes(index: SqliteSearchIndex) -> None:
    for t in ("t1", "t2", "t3"):
        await index.upsert(dataclasses.replace(doc(t, f"{t}a", Label("Dog", 80)), embedding=(1.0, 0.0, 0.0)))

    async def kept_after_searching(cache: search_columns.Cache, *tenants: str) -> list[str]:
        index._columns = cache
        for t in tenants:
            assert [h.asset_id for h in (await index.search(t, SearchQuery(text="dog"))).hits] == [f"{t}a"]
        return list(cache._held)

    assert await kept_after_searching(search_columns.Cache(2), "t1", "t2", "t1", "t3") == ["t1", "t3"]
    assert await kept_after_searching(search_columns.Cache(4, max_bytes=1), "t1", "t2") == ["t2"]
