from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import sqlite3
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalog.domain.cursor import decode_cursor
from catalog.domain.model import Label
from catalog.domain.ports import IndexDocument, SearchPage, SearchQuery, SearchTimeout, SortOrder
from catalog.domain.tone import COLOUR, MONOCHROME
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.search import (
    counts as search_counts,
)
from catalog.sqlite.search import (
    index as sqlite_search,
)
from catalog.sqlite.search import (
    intersect as search_intersect,
)
from catalog.sqlite.search import (
    matched as search_matched,
)
from catalog.sqlite.search import schema as search_schema
from catalog.sqlite.search import (
    sets as search_sets,
)
from catalog.sqlite.search import (
    topk as search_topk,
)
from catalog.sqlite.search import (
    vocab as search_vocab,
)
from catalog.sqlite.search.index import SqliteSearchIndex

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DOG = ("Dog", "Canine", "Carnivore", "Mammal", "Animal")


def doc(tenant: str, asset: str, *labels: Label, created: datetime = NOW) -> IndexDocument:
    return IndexDocument(tenant, asset, "photo.jpg", "image/jpeg", created, None, labels)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteSearchIndex]:
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    yield SqliteSearchIndex(db)
    db.close()


# What both indexes must do is in tests/contract/test_search_index_contract.py; here, what is SQLite's own:
# each faster path answers exactly as the general path (every hit materialised) does — hits, scores,
# matches, cursors, totals and facets —, its statements use indexes, counts survive writes and migrations.
NAMES = ("Dog", "Cat", "Pet", "Tree", "Car", "Boat", "Sky")
PARENTS = {"Dog": ("Pet", "Animal"), "Cat": ("Pet", "Animal"), "Car": ("Vehicle",), "Boat": ("Vehicle",)}
EDGES = (50.0, 59.99, 60.0, 60.49, 60.5, 60.6, 61.0, 75.25, 98.7, 100.0, 100.7, 130.0, -3.0)  # thresholds
ID_STYLES: dict[str, Callable[[int], str]] = {
    "one width": lambda i: f"a{i:03d}",  # as UUIDs are: the sets are cut without a split
    "mixed widths": lambda i: "x" * (i % 3) + f"a{i}",
}


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


async def random_archive(
    index: SqliteSearchIndex, rng: random.Random, asset_id: Callable[[int], str]
) -> dict[tuple[str, str], IndexDocument]:
    """160 documents in two tenants, some replaced and some deleted (the counts must follow); returns
    the documents indexed in the end."""
    kept: dict[tuple[str, str], IndexDocument] = {}
    for i in range(160):
        d = random_doc(rng, rng.choice(["t1", "t1", "t2"]), asset_id(i))
        await index.upsert(d)
        kept[d.tenant_id, d.asset_id] = d
    for i in rng.sample(range(160), 40):
        kept["t1", asset_id(i)] = random_doc(rng, "t1", asset_id(i))
        await index.upsert(kept["t1", asset_id(i)])
    for i in rng.sample(range(160), 20):
        await index.delete("t1", asset_id(i))
        await index.delete("t2", asset_id(i))
        kept.pop(("t1", asset_id(i)), None)
        kept.pop(("t2", asset_id(i)), None)
    return kept


async def all_pages(
    read: Callable[[SearchQuery], Awaitable[SearchPage]], query: SearchQuery
) -> list[SearchPage]:
    pages = [await read(query)]
    while pages[-1].has_next:
        pages.append(await read(dataclasses.replace(query, after=pages[-1].end_cursor)))
    return pages


def general_path(index: SqliteSearchIndex) -> Callable[[SearchQuery], Awaitable[SearchPage]]:
    def read(query: SearchQuery) -> Awaitable[SearchPage]:
        after = decode_cursor(query.after) if query.after else None
        return index._db.read(lambda c: search_matched.search(c, index._vocab, "t1", query, after))

    return read


async def test_one_label_queries_answer_as_the_general_path_does(index: SqliteSearchIndex) -> None:
    rng = random.Random(7)
    await random_archive(index, rng, ID_STYLES["one width"])
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
                    assert fast == await all_pages(general_path(index), query), query
                    checked += fast[0].total
    assert checked > 1000  # the cases found something


def random_label_set_query(rng: random.Random) -> SearchQuery:
    """allLabels and/or notLabels, maybe with any of `labels`, thresholds, moderation, media, dates."""
    names = ["dog", "Cat", "PET", "animal", "vehicle", "sky", "tree", "nothing"]
    every, none = rng.sample(names, rng.choice([0, 1, 1, 2, 3])), rng.sample(names, rng.choice([0, 1, 2]))
    return SearchQuery(
        labels=tuple(rng.sample(names, rng.choice([0, 0, 1, 2]))),
        all_labels=tuple(every) if every or none else ("pet",),
        not_labels=tuple(none),
        min_confidence=rng.choice([0, 0, 60, 60.5, 75, 101]),
        label_confidence=rng.choice([{}, {"pet": 61.0}, {"animal": 55, "cat": 60.49}, {"sky": -1}]),
        exclude_moderation=rng.random() < 0.3,
        media_types=rng.choice([(), (), (), ("image/png",)]),
        created_after=rng.choice([None, None, None, NOW.replace(day=9)]),
        sort=rng.choice(list(SortOrder)),
        first=rng.choice([2, 3, 7, 40]),
        synonyms=rng.choice([(), (), (("dog", "Cat"),), (("pet", "SKY", "tree"), ("vehicle", "nothing"))]),
    )


@pytest.mark.parametrize(
    ("ids", "read_ratio"),
    [("one width", 8), ("mixed widths", 8), ("mixed widths", 0), ("one width", 10**6)],
)  # read_ratio 0: every set but the driver probed; 10**6: every set read
async def test_label_set_queries_answer_as_the_general_path_does(
    index: SqliteSearchIndex, monkeypatch: pytest.MonkeyPatch, ids: str, read_ratio: int
) -> None:
    """allLabels and notLabels (the intersection path), on every strategy it has: sets read or probed,
    counts less the dropped assets or the kept ones tallied, a walk down an index or the general path
    over the kept assets, the positive set read or only the negative ones."""
    rng = random.Random(read_ratio + len(ids))
    await random_archive(index, rng, ID_STYLES[ids])
    monkeypatch.setattr(search_intersect, "READ_RATIO", read_ratio)
    used = spy_on_strategies(monkeypatch)
    checked = 0
    edges = [  # thresholds around min_confidence, a negative set inside the positive one, and more
        SearchQuery(not_labels=("animal",), min_confidence=60.5, label_confidence={"animal": 55}),
        SearchQuery(not_labels=("cat", "sky"), min_confidence=60, exclude_moderation=True),
        SearchQuery(all_labels=("pet",), min_confidence=75, label_confidence={"pet": 61.0}),
        SearchQuery(all_labels=("dog", "pet"), min_confidence=60.5),
        SearchQuery(labels=("pet",), not_labels=("dog",), exclude_moderation=True),
        SearchQuery(labels=("dog", "sky"), all_labels=("animal",), not_labels=("car",)),
        SearchQuery(all_labels=("dog", "pet"), synonyms=(("Dog", "cat"),), label_confidence={"cat": 70}),
    ]
    for query in [dataclasses.replace(q, sort=sort, first=5) for q in edges for sort in SortOrder] + [
        random_label_set_query(rng) for _ in range(300)
    ]:
        assert search_intersect.answers(query)
        fast = await all_pages(lambda q: index.search("t1", q), query)
        assert fast == await all_pages(general_path(index), query), query
        checked += fast[0].total
    assert checked > 1000
    assert {"_from_driver", "_from_counts", "_walk", "_general_over"} <= used.keys(), used
    assert ("probe" in used) == (read_ratio < 10**6), used


def spy_on_strategies(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    used: Counter[str] = Counter()

    def spy(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            used[name] += 1
            return fn(*args)

        return counted

    for name in ("_from_driver", "_from_counts", "_walk", "_general_over"):
        monkeypatch.setattr(search_intersect, name, spy(name, getattr(search_intersect, name)))
    read = search_sets.read

    def read_or_probe(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Any:
        used["probe" if "json_each" in sql else "read"] += 1
        return read(conn, sql, params)

    monkeypatch.setattr(search_sets, "read", read_or_probe)
    return used


async def test_ids_that_do_not_cut_apart_take_the_general_path(index: SqliteSearchIndex) -> None:
    """A NUL byte inside an asset ID would split it in a read set: such sets go to the general path."""
    for asset, conf in (("a", 70), ("a\x00b", 80), ("b", 90), ("c\x00", 60)):
        cat = (Label("Cat", conf - 5, ("Pet",)),) if conf in (70, 90) else ()
        await index.upsert(doc("t1", asset, Label("Dog", conf, ("Pet",)), *cat))
    assert index._db.read_sync(lambda c: search_sets.of_terms(c, "t1", [("dog", 0)])) is None
    both = SearchQuery(all_labels=("dog", "pet"), first=2)
    no_cat = SearchQuery(not_labels=("cat",), min_confidence=55, label_confidence={"cat": 40})  # read
    for query, expected in ((both, ["b", "a\x00b", "a", "c\x00"]), (no_cat, ["a\x00b", "c\x00"])):
        fast = await all_pages(lambda q: index.search("t1", q), query)
        assert fast == await all_pages(general_path(index), query)
        assert [h.asset_id for page in fast for h in page.hits] == expected


def counts(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    """Every row of facet counts, by tenant ID."""
    sql = "SELECT t.tenant_id, f.term, f.facet, f.value, f.moderated, f.counts FROM facet_counts f "
    sql += "JOIN search_tenants t ON t.key = f.tenant ORDER BY 1, 2, 3, 4, 5"
    return [tuple(r) for r in conn.execute(sql)]


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

    kept = db.read_sync(counts)
    db.write_sync(make_old)
    db.close()
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    migrated = SqliteSearchIndex(db)
    assert (
        db.read_sync(counts) == kept
        and db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == search_schema.VERSION
    )
    assert [await migrated.search("t1", query), await migrated.search("t1", meaning)] == before
    assert {fp for _, _, fp in await migrated.fingerprints("t1", after=None, limit=100)} == {""}  # not yet
    db.close()


async def test_a_version_3_file_answers_as_before_until_its_documents_are_written_again(
    tmp_path: Path,
) -> None:
    """Version 4 gives label names a full-text column of their own (whole words). A version 3 file (label
    names among the prefix words of `meta`) is migrated in place and answers as it did; a document written
    again (what `mediasight verify --repair` does with the stale ones) is found by whole label words."""
    docs = [
        dataclasses.replace(doc("t1", "cat", Label("Carnivore", 93, ("Mammal",))), filename="IMG_0001.jpg"),
        dataclasses.replace(doc("t1", "car", Label("Car", 76, ("Vehicle",))), filename="IMG_0002.jpg"),
    ]
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    await SqliteSearchIndex(db).upsert_many(docs)

    def make_v3(conn: sqlite3.Connection) -> None:  # docs_fts as version 3 wrote it
        found = conn.execute("SELECT rowid, meta, ocr, labels, tenant_id, asset_id FROM docs_fts").fetchall()
        conn.execute("DROP TABLE docs_fts")
        conn.execute(
            "CREATE VIRTUAL TABLE docs_fts USING fts5 "
            "(meta, ocr, tenant_id UNINDEXED, asset_id UNINDEXED, tokenize = 'unicode61')"
        )
        conn.executemany(
            "INSERT INTO docs_fts (rowid, meta, ocr, tenant_id, asset_id) VALUES (?, ?, ?, ?, ?)",
            [(i, f"{meta} {labels}", ocr, t, a) for i, meta, ocr, labels, t, a in found],
        )
        conn.execute("PRAGMA user_version = 3")

    async def words(text: str) -> list[str]:
        return [h.asset_id for h in (await index.search("t1", SearchQuery(text=text))).hits]

    db.write_sync(make_v3)
    db.close()
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    index = SqliteSearchIndex(db)
    columns = db.read_sync(lambda c: [r[1] for r in c.execute("PRAGMA table_info(docs_fts)")])
    assert columns == ["meta", "ocr", "labels", "tenant_id", "asset_id"]
    assert db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == search_schema.VERSION
    linked = "SELECT count(*) FROM docs d JOIN docs_fts f ON f.rowid = d.fts_id AND f.asset_id = d.asset_id"
    assert db.read_sync(lambda c: c.execute(linked).fetchone()[0]) == 2
    assert await words("car") == ["car", "cat"]  # as version 3 answered: "car" a prefix of Carnivore
    assert await words("IMG_000") == ["cat", "car"] and await words("mammal") == ["cat"]
    await index.upsert_many(docs)  # repaired
    assert await words("car") == ["car"] and await words("carnivore") == ["cat"]
    assert await words("IMG_000") == ["cat", "car"] and await words("carni") == []
    db.close()


async def test_a_version_4_file_gets_the_tone_unknown_until_its_documents_are_written_again(
    tmp_path: Path,
) -> None:
    """Version 5 keeps each image's tone (catalog.domain.tone). A version 4 file gets the column, every
    document of it with no tone: none is a hit for a query that names one until it is written again (what
    `mediasight verify --repair` does with the stale ones: fingerprint v5)."""
    docs = [
        dataclasses.replace(doc("t1", "bw", Label("Ship", 80)), tone=MONOCHROME),
        dataclasses.replace(doc("t1", "colour", Label("Ship", 90)), tone=COLOUR),
    ]
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    await SqliteSearchIndex(db).upsert_many(docs)

    def make_v4(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE docs DROP COLUMN tone")
        conn.execute("PRAGMA user_version = 4")

    async def hits(query: SearchQuery) -> list[str]:
        return [h.asset_id for h in (await index.search("t1", query)).hits]

    db.write_sync(make_v4)
    db.close()
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    index = SqliteSearchIndex(db)
    assert db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == search_schema.VERSION
    assert await hits(SearchQuery(text="ship")) == ["colour", "bw"]  # answers as before
    for query in (SearchQuery(tone=MONOCHROME), SearchQuery(text="ship", tone=MONOCHROME)):
        assert await hits(query) == [], query
    await index.upsert_many(docs)  # repaired
    assert await hits(SearchQuery(text="ship", tone=MONOCHROME)) == ["bw"]
    assert await hits(SearchQuery(tone=COLOUR)) == ["colour"]
    db.close()


async def test_a_version_5_file_leaves_the_guesses_out_of_its_facets_exactly_as_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 6: a model's guess is no label facet value (ranking.facet_labels). A version 5 file, whose
    facet IDs and counts hold every label, is migrated in place from its rows: the same counts as the same
    documents written now (random ones, and a guessed Weapon under a reviewer's Missile 100, which stays)."""
    rng = random.Random(5)
    docs = [random_doc(rng, rng.choice(["t1", "t2"]), f"a{i:02d}") for i in range(60)]
    docs.append(doc("t1", "confirmed", Label("Missile", 100, ("Weapon",)), Label("Weapon", 42)))
    docs.append(doc("t1", "guess", Label("Missile", 42, ("Weapon",)), Label("Weapon", 42)))
    assert any(lb.confidence < 50 for d in docs for lb in d.labels)  # random labels from 40 (and -3)
    fresh = SqliteDb(tmp_path / "new.db", sqlite_search.SCHEMA)
    await SqliteSearchIndex(fresh).upsert_many(docs)
    db = SqliteDb(tmp_path / "old.db", sqlite_search.SCHEMA)
    with monkeypatch.context() as old:  # every label listed, as version 5 wrote them

        def every_label(d: IndexDocument, terms: object = None) -> list[tuple[int, str]]:
            persons = {(search_counts.PERSON, p.lower()) for p in d.persons}
            return sorted({(search_counts.LABEL, lb.name) for lb in d.labels} | persons)

        old.setattr(search_counts, "listed", every_label)
        await SqliteSearchIndex(db).upsert_many(docs)
    db.write_sync(lambda c: c.execute("PRAGMA user_version = 5"))
    assert db.read_sync(counts) != fresh.read_sync(counts)
    db.close()
    db = SqliteDb(tmp_path / "old.db", sqlite_search.SCHEMA)
    migrated = SqliteSearchIndex(db)
    assert db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == search_schema.VERSION
    assert db.read_sync(counts) == fresh.read_sync(counts)
    for tenant in ("t1", "t2"):
        for query in (SearchQuery(), SearchQuery(labels=("pet",)), SearchQuery(persons=("ada",))):
            assert await migrated.search(tenant, query) == await SqliteSearchIndex(fresh).search(
                tenant, query
            )
    facets = {f.value: f.count for f in (await migrated.search("t1", SearchQuery())).label_facets}
    assert facets["Missile"] == facets["Weapon"] == 1  # the confirmed one's; the guessed one's are no finding
    db.close()
    fresh.close()


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
    statements, plans = await traced(index, query)
    assert synonyms or not any("matched" in s for s in statements)
    for plan in plans:
        assert not re.search(r"\bSCAN\b", plan) and (synonyms or "TEMP B-TREE" not in plan), plan


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(all_labels=("dog", "mammal"), first=1),  # as the benchmark's "all of two"
        SearchQuery(all_labels=("dog", "mammal"), sort=SortOrder.CAPTURED, exclude_moderation=True, first=1),
        SearchQuery(labels=("animal",), not_labels=("cat",), sort=SortOrder.CREATED, first=1),
        SearchQuery(not_labels=("cat",), min_confidence=60, first=1),
    ],
)
async def test_label_set_queries_read_ranges_and_walk_indexes(
    index: SqliteSearchIndex, query: SearchQuery
) -> None:
    """Each set read is one range of the primary key, the page a walk down an index in the sort order;
    nothing is materialised when the sets left out are inside the driver (their counts tally them)."""
    for i in range(40):
        labels = [Label("Dog", 60 + i / 2, DOG[1:])] if i % 5 else [Label("Tree", 90)]
        labels += [Label("Cat", 70, ("Feline", "Animal"))] if i % 3 == 0 else []
        await index.upsert(doc("t1", f"a{i:02d}", *labels, created=NOW.replace(day=1 + i % 28)))
    statements, plans = await traced(index, query)
    assert (await index.search("t1", query)).total > 20
    assert not any("matched" in s for s in statements)
    for plan in plans:
        assert not re.search(r"\bSCAN\b", plan) and "TEMP B-TREE" not in plan, plan


async def traced(index: SqliteSearchIndex, query: SearchQuery) -> tuple[list[str], list[str]]:
    """The statements a search runs (twice: both reader threads' connections), and the query plans of
    its SELECTs (temp tables aside)."""
    statements: list[str] = []

    def on_every_reader(set_up: Callable[[sqlite3.Connection], None]) -> Awaitable[list[None]]:
        # Both reader threads at once (each waits for the other): a read after a quick one may reuse its
        # thread, and the other connection would go untraced.
        both = threading.Barrier(2, timeout=30)

        def run(conn: sqlite3.Connection) -> None:
            set_up(conn)
            both.wait()

        return asyncio.gather(index._db.read(run), index._db.read(run))

    await on_every_reader(lambda conn: conn.set_trace_callback(statements.append))
    for _ in range(2):
        await index.search("t1", query)
    await on_every_reader(lambda conn: conn.set_trace_callback(None))
    selects = [s.replace("\x00", "") for s in statements if s.lstrip().upper().startswith("SELECT")]
    selects = [s for s in selects if "temp." not in s]
    assert selects
    plans = index._db.read_sync(
        lambda c: [" | ".join(r[3] for r in c.execute(f"EXPLAIN QUERY PLAN {s}")) for s in selects]
    )
    return statements, plans


async def test_filters_alone_find_what_a_scan_of_the_documents_finds(index: SqliteSearchIndex) -> None:
    """all_labels, not_labels, persons, media types and moderation without a label query, whichever path
    answers (label sets combined, or the general path looking up the narrowest filter's assets): the
    answer of a scan of the documents, worked out here without the index's code."""
    rng = random.Random(11)
    docs = {f"a{i:03d}": random_doc(rng, "t1", f"a{i:03d}") for i in range(120)}
    for d in docs.values():
        await index.upsert(d)
    await index.upsert(random_doc(rng, "t2", "a000"))

    def expected(query: SearchQuery) -> list[str]:
        def keeps(d: IndexDocument) -> bool:
            def has(name: str) -> bool:  # a label reaching the name (itself or a parent) is sure enough
                names = lambda lb: {n.lower() for n in (lb.name, *lb.parents)}  # noqa: E731
                return any(
                    name.lower() in names(lb) and lb.confidence >= query.threshold(name) for lb in d.labels
                )

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
        SearchQuery(not_labels=("cat", "car"), min_confidence=60.5, label_confidence={"cat": 50}),
        SearchQuery(
            all_labels=("pet",), not_labels=("dog",), min_confidence=75, label_confidence={"pet": 61}
        ),
    ]
    for query in queries:
        pages = await all_pages(lambda q: index.search("t1", q), dataclasses.replace(query, first=9))
        assert [h.asset_id for p in pages for h in p.hits] == expected(query), query
        assert (
            pages[0].total == len(expected(query))
            and sum(f.count for f in pages[0].media_type_facets) == pages[0].total
        )


async def test_a_search_past_its_time_limit_is_stopped_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    try:
        slow = SqliteSearchIndex(db, timeout_seconds=0.0)
        await random_archive(slow, random.Random(1), ID_STYLES["one width"])
        monkeypatch.setattr(sqlite_search, "PROGRESS_STEPS", 1)  # check the deadline at every step
        for query in (SearchQuery(text="dog"), SearchQuery(all_labels=("dog", "pet")), SearchQuery()):
            with pytest.raises(SearchTimeout, match="narrow it"):
                await slow.search("t1", query)
        # The readers' connections are fine afterwards: no handler left, no transaction left open.
        assert (await SqliteSearchIndex(db).search("t1", SearchQuery(labels=("dog",)))).total > 0
    finally:
        db.close()


# Bulk rebuilds (search_rebuild): documents written without counting them, counted from the rows at the end.
def rows(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the index, rowids aside (they follow the write order); facet IDs as their values.
    Each document's docs_fts row is the one its fts_id names."""
    docs = []
    sql = "SELECT tenant_id, asset_id, filename, media_type, created_at, captured_at, top_confidence, "
    sql += "moderated, root_id, fingerprint, facet_ids FROM docs ORDER BY tenant_id, asset_id"
    for *r, ids in conn.execute(sql).fetchall():
        values = search_vocab.lookup(conn, search_vocab.unpack([ids or b""]).tolist()).values()
        docs.append((*r, sorted(values)))
    fts = [tuple(r) for r in conn.execute("SELECT * FROM docs_fts ORDER BY tenant_id, asset_id")]
    linked = "SELECT count(*) FROM docs d JOIN docs_fts f ON f.rowid = d.fts_id "
    linked += "AND f.tenant_id = d.tenant_id AND f.asset_id = d.asset_id"
    assert conn.execute(linked).fetchone()[0] == len(docs) == len(fts)
    return {
        "counts": counts(conn),
        "docs": docs,
        "fts": fts,
        **{t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
           for t in ("terms", "doc_persons", "doc_vectors")},
    }  # fmt: skip


async def in_batches(docs: Sequence[IndexDocument], rng: random.Random) -> AsyncIterator[list[IndexDocument]]:
    start = 0
    while start < len(docs):
        size = rng.choice([0, 1, 7, 40])
        yield list(docs[start : start + size])
        start += size


async def answers(index: SqliteSearchIndex, rng: random.Random) -> list[list[SearchPage]]:
    """Every page of many queries in both tenants: each path (one label, label sets, general, text)."""
    queries = [
        SearchQuery(),
        SearchQuery(labels=("pet",), min_confidence=60.5, exclude_moderation=True),
        SearchQuery(labels=("animal", "sky"), min_confidence=60, sort=SortOrder.CAPTURED),
        SearchQuery(persons=("ADA",), sort=SortOrder.CREATED),
        SearchQuery(text="a01 Dog", text_embedding=(0.0, 1.0, 0.0)),
        *(random_label_set_query(rng) for _ in range(30)),
    ]
    return [
        await all_pages(lambda q, t=t: index.search(t, q), dataclasses.replace(q, first=6))
        for q in queries
        for t in ("t1", "t2")
    ]


@pytest.mark.parametrize("ids", list(ID_STYLES))
async def test_a_rebuild_indexes_as_upserts_do(tmp_path: Path, ids: str) -> None:
    """Rows, counts and answers after a bulk rebuild (over an older index) equal those after upserting,
    replacing and deleting documents one by one; for the whole index, then for one tenant."""
    dbs = [SqliteDb(tmp_path / f"{name}.db", sqlite_search.SCHEMA) for name in ("upserted", "rebuilt")]
    upserted, rebuilt = (SqliteSearchIndex(db) for db in dbs)
    try:
        rng = random.Random(5)
        kept = await random_archive(upserted, rng, ID_STYLES[ids])
        await random_archive(rebuilt, random.Random(6), lambda i: f"old{i}")  # an index to replace
        docs = list(kept.values())
        rng.shuffle(docs)
        assert await rebuilt.rebuild(in_batches(docs, rng)) == len(docs)
        assert upserted._db.read_sync(rows) == rebuilt._db.read_sync(rows)
        assert await answers(upserted, random.Random(1)) == await answers(rebuilt, random.Random(1))

        replaced = [random_doc(rng, "t2", ID_STYLES[ids](i)) for i in range(100, 190)]
        for key in [k for k in kept if k[0] == "t2"]:
            await upserted.delete(*key)
        await upserted.upsert_many(replaced)
        assert await rebuilt.rebuild(in_batches(replaced, rng), tenant_id="t2") == len(replaced)
        assert upserted._db.read_sync(rows) == rebuilt._db.read_sync(rows)
        assert await answers(upserted, random.Random(2)) == await answers(rebuilt, random.Random(2))
    finally:
        for db in dbs:
            db.close()


async def test_a_rebuild_that_fails_half_way_leaves_the_old_index(index: SqliteSearchIndex) -> None:
    """One transaction: readers see the old index meanwhile, and keep it when the rebuild fails."""
    await random_archive(index, random.Random(4), ID_STYLES["one width"])
    before, old_answers = index._db.read_sync(rows), await answers(index, random.Random(3))
    new = [random_doc(random.Random(i), "t1", f"n{i}") for i in range(30)]

    async def failing() -> AsyncIterator[list[IndexDocument]]:
        yield new[:10]
        yield new[10:20]
        assert await answers(index, random.Random(3)) == old_answers  # the old index, meanwhile
        raise RuntimeError("the catalog went away")

    async def twice() -> AsyncIterator[list[IndexDocument]]:
        yield new[:10]
        yield new[5:15]

    with pytest.raises(RuntimeError, match="went away"):
        await index.rebuild(failing())
    with pytest.raises(ValueError, match="each asset once"):
        await index.rebuild(twice())
    with pytest.raises(ValueError, match="a document of tenant t1"):
        await index.rebuild(in_batches(new, random.Random(1)), tenant_id="t2")
    assert index._db.read_sync(rows) == before
    assert await answers(index, random.Random(3)) == old_answers
    assert await index.rebuild(in_batches(new, random.Random(1))) == 30  # nothing left locked
    assert await index.count("t1") == 30 and await index.count("t2") == 0


async def test_a_rebuild_killed_half_way_leaves_the_old_index(tmp_path: Path) -> None:
    """A process that dies inside the rebuild (its pages spilled to the WAL, never committed)."""
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    index = SqliteSearchIndex(db)
    await random_archive(index, random.Random(8), ID_STYLES["one width"])
    before, old_answers = db.read_sync(rows), await answers(index, random.Random(3))
    script = f"""
import asyncio, os, random
from pathlib import Path
from catalog.sqlite.search import rebuild as search_rebuild
from tests.catalog.sqlite.search.test_index import random_doc

search_rebuild._CACHE = "PRAGMA cache_size = 2"  # spill the rebuild's pages to the WAL early

async def batches():
    for i in range(4):
        yield [random_doc(random.Random(i), "t1", f"n{{i}}-{{j}}") for j in range(50)]
    os._exit(9)

asyncio.run(search_rebuild.rebuild(Path({str(tmp_path / "s.db")!r}), batches(), None))
"""
    root = Path(__file__).parents[4]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=root, env=env)
    assert await done.wait() == 9
    db.close()
    db = SqliteDb(tmp_path / "s.db", sqlite_search.SCHEMA)
    try:
        assert db.read_sync(rows) == before
        assert await answers(SqliteSearchIndex(db), random.Random(3)) == old_answers
    finally:
        db.close()


def test_slots_of_many_confidences_are_those_of_each() -> None:
    values = [*EDGES, 0.0, 0.999, 1.0, 100.999, 101.0, float("inf"), float("-inf"), float("nan"), -0.0]
    assert search_counts.slots(np.asarray(values)).tolist() == [search_counts.slot(v) for v in values]
