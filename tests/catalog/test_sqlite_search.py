from __future__ import annotations

import dataclasses
import random
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog import search_counts, search_matched, search_topk, search_vocab, sqlite_search
from catalog.cursor import CursorError, decode_cursor
from catalog.model import Label
from catalog.ports import IndexDocument, SearchPage, SearchQuery, SortOrder
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


# The fast path (counts + index pages) must answer exactly as the general path (every hit materialised):
# hits, scores, matches, cursors, totals and facets.
NAMES = ("Dog", "Cat", "Pet", "Tree", "Car", "Boat", "Sky")
PARENTS = {"Dog": ("Pet", "Animal"), "Cat": ("Pet", "Animal"), "Car": ("Vehicle",), "Boat": ("Vehicle",)}
EDGES = (
    50.0,
    59.99,
    60.0,
    60.49,
    60.5,
    60.6,
    61.0,
    75.25,
    98.7,
    100.0,
    100.7,
    130.0,
    -3.0,
)  # around thresholds


def random_doc(rng: random.Random, tenant: str, asset: str) -> IndexDocument:
    labels = tuple(
        Label(name, rng.choice([*EDGES, round(rng.uniform(40, 100), 2)]), PARENTS.get(name, ()))
        for name in rng.sample(NAMES, rng.randint(0, 3))
    )
    persons = tuple(rng.sample(["Ada", "ada", "Alan", "Grace"], rng.randint(0, 2)))
    captured = NOW.replace(year=rng.choice([2001, 2010, 2020])) if rng.random() < 0.6 else None
    return IndexDocument(
        tenant, asset, f"{asset}.jpg", rng.choice(["image/jpeg", "image/png"]),
        NOW.replace(day=rng.randint(1, 28), minute=rng.randint(0, 3)), captured, labels,
        persons=persons, moderated=rng.random() < 0.2, embedding=rng.choice([(), (0.6, 0.8, 0), (0, 1.0, 0)]),
    )  # fmt: skip


async def all_pages(
    read: Callable[[SearchQuery], Awaitable[SearchPage]], query: SearchQuery
) -> list[SearchPage]:
    pages = [await read(query)]
    while pages[-1].has_next:
        pages.append(await read(dataclasses.replace(query, after=pages[-1].end_cursor)))
    return pages


async def test_one_label_queries_answer_as_the_general_path_does(index: SqliteSearchIndex) -> None:
    rng = random.Random(7)
    for i in range(160):
        await index.upsert(random_doc(rng, rng.choice(["t1", "t1", "t2"]), f"a{i:03d}"))
    for i in rng.sample(range(160), 40):  # replaced: the counts must follow
        await index.upsert(random_doc(rng, "t1", f"a{i:03d}"))
    for i in rng.sample(range(160), 20):
        await index.delete("t1", f"a{i:03d}")
        await index.delete("t2", f"a{i:03d}")

    def general(query: SearchQuery) -> Awaitable[SearchPage]:
        after = decode_cursor(query.after) if query.after else None
        return index._db.read(lambda c: search_matched.search(c, index._vocab, "t1", query, after))

    checked = 0
    labels = [(), ("dog",), ("PET",), ("animal",), ("vehicle",), ("sky",), ("nothing",)]
    labels += [("dog", "cat"), ("cat", "Animal", "sky"), ("car", "boat", "nothing")]  # synonyms: any of
    for names in labels:
        for threshold in (0, 60, 60.5, 60.7, 99.5, 100):
            for sort in SortOrder:
                for exclude in (False, True):
                    own = {"cat": 61.0, "animal": 60.49} if len(names) > 1 and threshold < 60 else {}
                    query = SearchQuery(labels=names, min_confidence=threshold, label_confidence=own,
                                        sort=sort, exclude_moderation=exclude, first=7)  # fmt: skip
                    assert search_topk.answers(query)
                    fast = await all_pages(lambda q: index.search("t1", q), query)
                    assert fast == await all_pages(general, query), query
                    checked += fast[0].total
    assert checked > 1000  # the cases found something


async def test_counts_equal_a_recount_after_writes_and_migrate_old_files(tmp_path: Path) -> None:
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    index = SqliteSearchIndex(db)
    rng = random.Random(3)
    for i in range(60):
        await index.upsert(random_doc(rng, rng.choice(["t1", "t2"]), f"a{i:02d}"))
    for i in range(0, 60, 3):
        await index.upsert(random_doc(rng, "t1", f"a{i:02d}"))
        await index.delete("t2", f"a{i + 1:02d}")
    await index.upsert_many([random_doc(rng, "t1", "twice"), random_doc(rng, "t1", "twice")])  # one batch
    query = SearchQuery(labels=("pet",), min_confidence=55, first=5)
    meaning = SearchQuery(text="kitten", text_embedding=(0.0, 1.0, 0.0))
    before = [await index.search("t1", query), await index.search("t1", meaning)]
    assert before[1].total > 0

    def dump(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
        counts = "SELECT t.tenant_id, f.term, f.facet, f.value, f.moderated, f.counts FROM facet_counts f "
        counts += "JOIN search_tenants t ON t.key = f.tenant ORDER BY 1, 2, 3, 4, 5"
        return [tuple(r) for r in conn.execute(counts)]

    def make_old(conn: sqlite3.Connection) -> None:  # an index file as version 0 wrote it
        conn.execute("DELETE FROM facet_counts")
        conn.execute("CREATE TABLE doc_labels (tenant_id, asset_id, name, confidence)")
        for tenant, asset, ids in conn.execute("SELECT tenant_id, asset_id, facet_ids FROM docs").fetchall():
            values = search_vocab.lookup(conn, search_vocab.unpack([ids]).tolist()).values()
            labels = [(tenant, asset, name, 50) for facet, name in values if facet == search_counts.LABEL]
            conn.executemany("INSERT INTO doc_labels VALUES (?, ?, ?, ?)", labels)
        conn.execute("ALTER TABLE docs DROP COLUMN facet_ids")
        conn.execute("ALTER TABLE docs DROP COLUMN fingerprint")
        conn.execute("ALTER TABLE docs ADD COLUMN embedding BLOB")
        conn.execute(
            "UPDATE docs SET embedding = (SELECT embedding FROM doc_vectors v "
            "WHERE v.tenant_id = docs.tenant_id AND v.asset_id = docs.asset_id)"
        )
        conn.execute("DROP TABLE doc_vectors")
        conn.execute("PRAGMA user_version = 0")

    kept = db.read_sync(dump)
    db.write_sync(make_old)
    db.close()
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    migrated = SqliteSearchIndex(db)
    assert (
        db.read_sync(dump) == kept
        and db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == 2
    )
    assert [await migrated.search("t1", query), await migrated.search("t1", meaning)] == before
    assert {fp for _, _, fp in await migrated.fingerprints("t1", after=None, limit=100)} == {""}  # not yet
    db.close()


@pytest.mark.parametrize(
    ("query", "synonyms"),
    [
        (SearchQuery(labels=("animal",), min_confidence=60, first=1), False),  # the headline query
        (SearchQuery(labels=("animal",), sort=SortOrder.CREATED, exclude_moderation=True, first=1), False),
        (SearchQuery(sort=SortOrder.CAPTURED, first=1), False),
        (SearchQuery(labels=("animal", "cat"), min_confidence=60, first=1), True),
        (SearchQuery(labels=("animal", "cat"), sort=SortOrder.CREATED, first=1), True),
    ],
)
async def test_fast_path_queries_read_indexes_only(
    index: SqliteSearchIndex, query: SearchQuery, synonyms: bool
) -> None:
    """No statement scans a table or sorts, the hits are never materialised. With synonyms the rarer
    names' hits that lack the commonest are (to tally them), and a walk sorts each asset's few terms."""
    for i in range(12):
        labels = (Label("Dog", 60 + i, DOG[1:]), Label("Cat", 50 + i)) if i % 4 else (Label("Tree", 90),)
        await index.upsert(doc("t1", f"a{i:02d}", *labels))
    statements: list[str] = []

    def trace(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(statements.append)

    for _ in range(2):  # both reader threads (each has its own connection)
        await index._db.read(trace)
    for _ in range(2):
        await index.search("t1", query)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "temp." not in s]
    assert selects and (synonyms or not any("matched" in s for s in statements))
    plans = index._db.read_sync(
        lambda c: [" | ".join(r[3] for r in c.execute(f"EXPLAIN QUERY PLAN {s}")) for s in selects]
    )
    for plan in plans:
        assert not re.search(r"\bSCAN\b", plan) and (synonyms or "TEMP B-TREE" not in plan), plan


async def test_filters_alone_find_what_a_scan_of_the_documents_finds(index: SqliteSearchIndex) -> None:
    """all_labels, not_labels, persons, media types and moderation without a label query: the general
    path looks up the narrowest filter's assets instead of walking the tenant; same answer as a scan."""
    rng = random.Random(11)
    docs = {f"a{i:03d}": random_doc(rng, "t1", f"a{i:03d}") for i in range(120)}
    for d in docs.values():
        await index.upsert(d)
    await index.upsert(random_doc(rng, "t2", "a000"))

    def expected(query: SearchQuery) -> list[str]:
        def keeps(d: IndexDocument) -> bool:
            terms = search_counts.document_terms(d)
            has = lambda n: n.lower() in terms and terms[n.lower()][0] >= query.threshold(n)  # noqa: E731
            top = max((lb.confidence for lb in d.labels), default=0.0)
            return (
                top >= query.min_confidence
                and all(has(n) for n in query.all_labels)
                and not any(has(n) for n in query.not_labels)
                and (
                    not query.persons
                    or bool({p.lower() for p in d.persons} & {p.lower() for p in query.persons})
                )
                and (not query.media_types or d.media_type in query.media_types)
                and not (query.exclude_moderation and d.moderated)
            )

        found = [d for d in docs.values() if keeps(d)]
        found.sort(
            key=lambda d: (max((lb.confidence for lb in d.labels), default=0.0), d.asset_id), reverse=True
        )
        return [d.asset_id for d in found]

    queries = [
        SearchQuery(all_labels=("pet",)),
        SearchQuery(all_labels=("animal", "cat"), min_confidence=60),
        SearchQuery(all_labels=("dog", "Tree"), label_confidence={"tree": 60.5}),
        SearchQuery(not_labels=("animal",), exclude_moderation=True),
        SearchQuery(persons=("ADA",)),
        SearchQuery(persons=("alan", "grace"), all_labels=("vehicle",)),
        SearchQuery(persons=("nobody",)),
        SearchQuery(persons=("alan", "Grace", "ada")),
        SearchQuery(media_types=("image/png",), not_labels=("sky",)),
    ]
    for query in queries:
        pages = await all_pages(lambda q: index.search("t1", q), dataclasses.replace(query, first=9))
        assert [h.asset_id for p in pages for h in p.hits] == expected(query), query
        assert (
            pages[0].total == len(expected(query))
            and sum(f.count for f in pages[0].media_type_facets) == pages[0].total
        )
