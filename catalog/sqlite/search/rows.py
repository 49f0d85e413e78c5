"""The rows of documents in the embedded search index's tables, written and removed a batch at a time.

One executemany per table and batch, not statements per document: SQLite prepares each statement once per
batch and Python crosses into it once. Rows go in primary-key order, so neighbouring inserts land in the
same B-tree pages. The caller holds the write transaction (the rowids of docs_fts are given here).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from catalog.domain.clock import to_db_time
from catalog.domain.fingerprint import document_fingerprint
from catalog.domain.ports import IndexDocument
from catalog.domain.ranking import document_terms, document_words, label_words
from catalog.sqlite.db import placeholders
from catalog.sqlite.search import counts as search_counts
from catalog.sqlite.search import partition
from catalog.sqlite.search import vocab as search_vocab

Asset = tuple[str, str]  # (tenant_id, asset_id)
_CHUNK = 500  # asset IDs per lookup (bound parameters per statement)


def insert(
    conn: sqlite3.Connection, docs: Sequence[IndexDocument], known: dict[tuple[int, str], int]
) -> None:
    """Add the rows of documents that have none, each asset once, under their key (`partition`: a
    training example's apart from the archive); `known` as for search_vocab.ids."""
    last = conn.execute("SELECT rowid FROM docs_fts ORDER BY rowid DESC LIMIT 1").fetchone()
    fts_id = last[0] if last else 0
    fts: list[tuple[object, ...]] = []
    rows: list[tuple[object, ...]] = []
    vectors: list[tuple[str, str, bytes]] = []
    terms: list[tuple[str, str, str, float, str]] = []
    persons: dict[tuple[str, str, str], str] = {}  # (tenant, lower-cased, asset) → the first spelling
    for doc in sorted(docs, key=lambda d: (partition.of(d), d.asset_id)):
        fts_id += 1
        t, a = partition.of(doc), doc.asset_id
        fts.append((fts_id, document_words(doc), doc.text, label_words(doc), t, a))
        doc_terms = document_terms(doc)
        facet_ids = search_vocab.pack(search_vocab.ids(conn, search_counts.listed(doc, doc_terms), known))
        top = max((lb.confidence for lb in doc.labels), default=0.0)
        rows.append(
            (t, a, doc.filename, doc.media_type, to_db_time(doc.created_at), to_db_time(doc.captured_at),
             top, int(doc.moderated), doc.root_id or a, fts_id, document_fingerprint(doc), facet_ids,
             doc.duration, doc.tone)
        )  # fmt: skip
        if doc.embedding:
            vectors.append((t, a, np.asarray(doc.embedding, dtype="<f4").tobytes()))
        for p in doc.persons:
            persons.setdefault((t, p.lower(), a), p)
        terms.extend((t, term, a, c, lb) for term, (c, lb) in doc_terms.items())
    conn.executemany(
        "INSERT INTO docs_fts (rowid, meta, ocr, labels, tenant_id, asset_id) VALUES (?, ?, ?, ?, ?, ?)", fts
    )
    conn.executemany(
        "INSERT INTO docs (tenant_id, asset_id, filename, media_type, created_at, captured_at, "
        "top_confidence, moderated, root_id, fts_id, fingerprint, facet_ids, duration, tone) "
        f"VALUES ({placeholders(14)})",
        rows,
    )
    conn.executemany("INSERT INTO doc_vectors VALUES (?, ?, ?)", sorted(vectors))
    conn.executemany(
        "INSERT OR IGNORE INTO doc_persons VALUES (?, ?, ?, ?)", sorted((*k, p) for k, p in persons.items())
    )
    conn.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?)", sorted(terms))


def delete(conn: sqlite3.Connection, assets: Sequence[Asset]) -> dict[Asset, search_counts.Facts]:
    """Remove the rows of these documents; returns what each indexed one counted for."""
    by_tenant: dict[str, list[str]] = {}
    for t, a in assets:
        by_tenant.setdefault(t, []).append(a)
    found: dict[Asset, int] = {}  # → its docs_fts rowid
    for t, ids in by_tenant.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = "SELECT asset_id, fts_id FROM docs WHERE tenant_id = ? AND asset_id IN "
            rows = conn.execute(f"{sql}({placeholders(len(chunk))})", (t, *chunk))
            found.update(((t, a), fts_id) for a, fts_id in rows)
    if not found:  # none indexed yet (new assets, a bulk load): nothing of them in any table
        return {}
    facts = {(t, a): search_counts.stored_facts(conn, t, a, a)[a] for t, a in found}
    # By rowid: a DELETE on the FTS table's unindexed columns would scan the whole table.
    conn.executemany("DELETE FROM docs_fts WHERE rowid = ?", [(i,) for i in found.values()])
    for table in ("docs", "doc_vectors", "doc_persons", "terms"):
        conn.executemany(f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", list(found))
    return facts
