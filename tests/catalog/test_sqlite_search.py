from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog import sqlite_search
from catalog.cursor import CursorError
from catalog.model import Label
from catalog.ports import IndexDocument, SearchQuery, SortOrder
from catalog.sqlite_db import SqliteDb
from catalog.sqlite_search import SqliteSearchIndex

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DOG = ("Dog", "Canine", "Carnivore", "Mammal", "Animal")


def doc(tenant: str, asset: str, *labels: Label, filename: str = "photo.jpg") -> IndexDocument:
    return IndexDocument(tenant, asset, filename, "image/jpeg", NOW, None, labels)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteSearchIndex]:
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    yield SqliteSearchIndex(db)
    db.close()


@pytest.fixture
async def archive(index: SqliteSearchIndex) -> SqliteSearchIndex:
    await index.upsert(doc("t1", "a1", Label("Golden Retriever", 80, DOG), Label("Dog", 92, DOG[1:])))
    await index.upsert(
        doc("t1", "a2", Label("Tabby Cat", 70, ("Cat", "Feline", "Animal")), filename="kitty.png")
    )
    await index.upsert(
        doc("t1", "a3", Label("Espresso", 88, ("Coffee", "Beverage")), filename="IMG_0042.jpg")
    )
    await index.upsert(doc("t2", "b1", Label("Dog", 99, DOG[1:])))
    return index


async def test_label_query_matches_parents_any_case_ranked_by_confidence(archive: SqliteSearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(labels=("animal",)))
    assert [h.asset_id for h in page.hits] == ["a1", "a2"]
    assert page.total == 2
    assert page.hits[0].score == 92  # the best label reachable through "animal" is Dog at 92
    assert page.hits[0].matches[0].label == "Dog" and page.hits[0].matches[0].via == "animal"


async def test_min_confidence_and_text_query(archive: SqliteSearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(labels=("Animal",), min_confidence=75))
    assert [h.asset_id for h in page.hits] == ["a1"]
    by_name = await archive.search("t1", SearchQuery(text="img_0042"))
    assert [h.asset_id for h in by_name.hits] == ["a3"]
    by_label = await archive.search("t1", SearchQuery(text="Coffee"))
    assert [h.asset_id for h in by_label.hits] == ["a3"] and by_label.hits[0].score == 88


async def test_facets_count_labels_over_the_filtered_set(archive: SqliteSearchIndex) -> None:
    page = await archive.search("t1", SearchQuery(labels=("animal",)))
    facets = {f.value: f.count for f in page.label_facets}
    assert facets == {"Golden Retriever": 1, "Dog": 1, "Tabby Cat": 1}


async def test_tenants_never_see_each_other(archive: SqliteSearchIndex) -> None:
    page = await archive.search("t2", SearchQuery(labels=("animal",)))
    assert [h.asset_id for h in page.hits] == ["b1"] and page.total == 1
    assert {f.value for f in page.label_facets} == {"Dog"}
    assert (await archive.search("t3", SearchQuery())).total == 0


async def test_cursor_pagination_is_stable_while_new_assets_arrive(index: SqliteSearchIndex) -> None:
    for i in range(10):
        await index.upsert(doc("t1", f"a{i:02d}", Label("Dog", 50 + i, DOG[1:])))
    first = await index.search("t1", SearchQuery(labels=("dog",), first=4))
    assert first.has_next and [h.asset_id for h in first.hits] == ["a09", "a08", "a07", "a06"]
    await index.upsert(doc("t1", "new", Label("Dog", 99, DOG[1:])))  # ranks first, lands on no later page
    second = await index.search("t1", SearchQuery(labels=("dog",), first=4, after=first.end_cursor))
    assert [h.asset_id for h in second.hits] == ["a05", "a04", "a03", "a02"]
    third = await index.search("t1", SearchQuery(labels=("dog",), first=4, after=second.end_cursor))
    assert [h.asset_id for h in third.hits] == ["a01", "a00"] and not third.has_next


async def test_upsert_replaces_and_delete_removes(archive: SqliteSearchIndex) -> None:
    await archive.upsert(doc("t1", "a1", Label("Teapot", 60, ("Pot",))))
    assert [h.asset_id for h in (await archive.search("t1", SearchQuery(labels=("dog",)))).hits] == []
    await archive.delete("t1", "a1")
    assert await archive.count("t1") == 2
    await archive.delete("t2", "a2")  # another tenant's delete cannot touch t1's document
    assert await archive.count("t1") == 2


async def test_bad_cursor_is_a_clear_error(archive: SqliteSearchIndex) -> None:
    with pytest.raises(CursorError, match="endCursor"):
        await archive.search("t1", SearchQuery(after="garbage"))


async def test_fts_syntax_in_user_text_is_harmless(archive: SqliteSearchIndex) -> None:
    for text in ['"', "AND OR NOT", "kitty*", "a:b", "(((", "NEAR(x y)"]:
        await archive.search("t1", SearchQuery(text=text))
    assert [h.asset_id for h in (await archive.search("t1", SearchQuery(text="kitty"))).hits] == ["a2"]


async def test_persons_phrase_and_moderation_filters(index: SqliteSearchIndex) -> None:
    await index.upsert(
        IndexDocument("t1", "p1", "a.jpg", "image/jpeg", NOW, None, (Label("Person", 99, ("Human",)),),
                      text="Grand Hotel Budapest", persons=("Ada Lovelace",))
    )  # fmt: skip
    await index.upsert(
        IndexDocument("t1", "p2", "b.jpg", "image/jpeg", NOW, None, (Label("Person", 90, ("Human",)),),
                      text="Hotel Grand", persons=("Alan Turing",), moderated=True)
    )  # fmt: skip
    ids = lambda page: [h.asset_id for h in page.hits]  # noqa: E731
    assert ids(await index.search("t1", SearchQuery(persons=("ada lovelace",)))) == ["p1"]
    assert ids(await index.search("t1", SearchQuery(text="turing"))) == ["p2"]
    assert ids(await index.search("t1", SearchQuery(phrase="grand hotel"))) == ["p1"]
    assert ids(await index.search("t1", SearchQuery(phrase="hotel grand"))) == ["p2"]
    assert ids(await index.search("t1", SearchQuery(phrase='"'))) == []
    assert ids(await index.search("t1", SearchQuery(labels=("human",), exclude_moderation=True))) == ["p1"]
    assert ids(await index.search("t2", SearchQuery(persons=("ada lovelace",)))) == []


async def test_semantic_neighbours_join_text_queries(index: SqliteSearchIndex) -> None:
    dog, coffee = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    retriever = (Label("Golden Retriever", 90, DOG),)
    espresso = (Label("Espresso", 90, ("Coffee",)),)
    await index.upsert(IndexDocument("t1", "d1", "x.jpg", "image/jpeg", NOW, None, retriever, embedding=dog))
    await index.upsert(
        IndexDocument("t1", "c1", "puppy.jpg", "image/jpeg", NOW, None, espresso, embedding=coffee)
    )
    await index.upsert(IndexDocument("t2", "x1", "y.jpg", "image/jpeg", NOW, None, retriever, embedding=dog))
    puppy = (0.9, 0.1, 0.0)  # "puppy" means dog-ish
    page = await index.search("t1", SearchQuery(text="puppy", text_embedding=puppy))
    # c1 has the word in its filename; d1 matches only by meaning; t2's asset never shows.
    assert {h.asset_id for h in page.hits} == {"d1", "c1"} and page.total == 2
    no_vectors = await index.search("t1", SearchQuery(text="puppy"))
    assert [h.asset_id for h in no_vectors.hits] == ["c1"]
    dogs_only = await index.search("t1", SearchQuery(text="puppy", labels=("dog",), text_embedding=puppy))
    assert [h.asset_id for h in dogs_only.hits] == ["d1"]


async def test_boolean_label_filters_per_label_thresholds_media_types_and_dates(
    index: SqliteSearchIndex,
) -> None:
    def at(asset: str, day: int, media: str, *labels: Label, captured: int | None = None) -> IndexDocument:
        return IndexDocument("t1", asset, f"{asset}.x", media, NOW.replace(day=day),
                             NOW.replace(year=2000 + captured) if captured else None, labels)  # fmt: skip

    await index.upsert(
        at("dog_cat", 1, "image/jpeg", Label("Dog", 90, DOG[1:]), Label("Cat", 60), captured=10)
    )
    await index.upsert(at("dog", 2, "image/png", Label("Dog", 70, DOG[1:]), captured=20))
    await index.upsert(at("cat", 3, "image/jpeg", Label("Cat", 95)))
    ids = lambda q: [h.asset_id for h in q.hits]  # noqa: E731
    assert ids(await index.search("t1", SearchQuery(all_labels=("dog", "cat")))) == ["dog_cat"]
    assert ids(await index.search("t1", SearchQuery(labels=("dog",), not_labels=("cat",)))) == ["dog"]
    strict_dog = SearchQuery(labels=("dog", "cat"), label_confidence={"dog": 80})
    assert ids(await index.search("t1", strict_dog)) == ["cat", "dog_cat"]
    assert ids(await index.search("t1", SearchQuery(media_types=("image/png",)))) == ["dog"]
    window = SearchQuery(created_after=NOW.replace(day=2), created_before=NOW.replace(day=3))
    assert ids(await index.search("t1", window)) == ["dog"]
    page = await index.search("t1", SearchQuery())
    assert {f.value: f.count for f in page.media_type_facets} == {"image/jpeg": 2, "image/png": 1}
    assert [(f.value, f.count) for f in page.capture_year_facets] == [("2020", 1), ("2010", 1)]


async def test_sort_orders_page_with_their_own_cursors(index: SqliteSearchIndex) -> None:
    for day, conf, captured in ((1, 50, 2015), (2, 90, None), (3, 70, 2012)):
        await index.upsert(
            IndexDocument("t1", f"a{day}", "x.jpg", "image/jpeg", NOW.replace(day=day),
                          NOW.replace(year=captured) if captured else None, (Label("Dog", conf, DOG[1:]),))
        )  # fmt: skip

    async def all_pages(sort: SortOrder) -> list[str]:
        out, after = [], None
        while True:
            page = await index.search("t1", SearchQuery(labels=("dog",), sort=sort, first=1, after=after))
            out += [h.asset_id for h in page.hits]
            if not page.has_next:
                return out
            after = page.end_cursor

    assert await all_pages(SortOrder.RELEVANCE) == ["a2", "a3", "a1"]
    assert await all_pages(SortOrder.CREATED) == ["a3", "a2", "a1"]
    assert await all_pages(SortOrder.CAPTURED) == ["a1", "a3", "a2"]  # no capture time: last
