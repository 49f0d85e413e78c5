"""Facet counts kept with the documents: the total and facets of a one-label query without its hits.

For every (tenant, term, facet value, moderated) a row of `facet_counts` holds how many documents have
that facet value (label name, lower-cased person, media type or capture year) with the term at each
whole confidence point: one int32 per SLOT, packed, so that a query reads one row per value. The term
'' stands for every document, at its top confidence. Every document has one media type, so the
media-type counts add up to the number of documents.

"term at confidence ≥ t" sums the slots from t on: exact for a whole t in [0, 100] (conf ≥ t ⟺
floor(conf) ≥ t); for a fractional t the caller corrects by the documents between t and the nearer
whole point. Upserts and deletes change the counts in the same transaction as the rows, by the
difference between the old and the new document (re-indexing an unchanged document writes nothing); a
rebuild counts them from the rows once its documents are in (`search_recount`).
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from catalog.domain.clock import to_db_time
from catalog.domain.ports import IndexDocument
from catalog.domain.ranking import document_terms, facet_labels
from catalog.sqlite.search import vocab as search_vocab

LABEL, PERSON, MEDIA_TYPE, CAPTURE_YEAR = 1, 2, 3, 4
EVERY = ""  # the term of every document
SLOTS = 103  # below 0, then each whole point 0 … 100 (100 holds [100, 101)), then 101 and above
Tallies = dict[int, Counter[str]]  # facet → value → documents
Row = tuple[str, str, int, int, str]  # tenant_id, term, moderated, facet, value: one row of counts
Key = tuple[Row, int]  # a row and a slot
_CHUNK = 500  # values per read (bound parameters per statement)


def slot(confidence: float) -> int:
    """The slot counting a confidence (out-of-range ones apart, so that whole thresholds stay exact)."""
    if not confidence >= 0:  # negative or NaN
        return 0
    return SLOTS - 1 if confidence >= SLOTS - 2 else 1 + math.floor(confidence)


def slots(confidences: np.ndarray) -> np.ndarray:
    """slot() of each confidence (int64)."""
    out = np.zeros(len(confidences), dtype=np.int64)
    inside = confidences >= 0  # NaN: False
    out[inside] = np.minimum(np.floor(confidences[inside]) + 1, SLOTS - 1)
    return out


@dataclass(frozen=True)
class Facts:
    """What one indexed document adds to the counts."""

    moderated: bool
    top_confidence: float
    terms: Mapping[str, float]
    values: frozenset[tuple[int, str]]  # (facet, value)

    @staticmethod
    def of(doc: IndexDocument) -> Facts:
        captured = to_db_time(doc.captured_at)
        terms = document_terms(doc)
        return Facts(
            doc.moderated,
            max((lb.confidence for lb in doc.labels), default=0.0),
            {term: c for term, (c, _) in terms.items()},
            frozenset(listed(doc, terms)) | own(doc.media_type, captured),
        )

    def keys(self, tenant_id: str) -> Iterable[Key]:
        mod = int(self.moderated)
        # A label named '' would collide with EVERY: such a term is left to the general path.
        for term, conf in [(EVERY, self.top_confidence), *((t, c) for t, c in self.terms.items() if t)]:
            at = slot(conf)
            for facet, value in self.values:
                yield (tenant_id, term, mod, facet, value), at


def listed(doc: IndexDocument, terms: dict[str, tuple[float, str]] | None = None) -> list[tuple[int, str]]:
    """The (facet, value) pairs a document lists itself (docs.facet_ids): its labels that are findings
    (ranking.facet_labels: no model's guess) and persons. `terms`: document_terms(doc), when made."""
    labels = {(LABEL, name) for name in facet_labels(doc, terms)}
    return sorted(labels | {(PERSON, p.lower()) for p in doc.persons})


def own(media_type: str, captured_at: str | None) -> frozenset[tuple[int, str]]:
    """The facet values a document has in its own columns."""
    year = {(CAPTURE_YEAR, captured_at[:4])} if captured_at else set()
    return frozenset({(MEDIA_TYPE, media_type), *year})


def change(deltas: Counter[Key], tenant_id: str, old: Facts | None, new: Facts | None) -> None:
    """Add to `deltas` what replacing `old` by `new` changes (either may be None)."""
    if old is not None:
        deltas.subtract(old.keys(tenant_id))
    if new is not None:
        deltas.update(new.keys(tenant_id))


def stored_facts(conn: sqlite3.Connection, tenant_id: str, first: str, last: str) -> dict[str, Facts]:
    """The facts of the tenant's indexed documents with asset IDs in [first, last], from their rows."""
    span = (tenant_id, first, last)
    docs = conn.execute(
        "SELECT asset_id, media_type, captured_at, top_confidence, moderated, facet_ids FROM docs "
        "WHERE tenant_id = ? AND asset_id BETWEEN ? AND ?",
        span,
    ).fetchall()
    if not docs:
        return {}
    terms: dict[str, dict[str, float]] = {}
    for a, term, conf in conn.execute(
        "SELECT asset_id, term, confidence FROM terms WHERE tenant_id = ? AND asset_id BETWEEN ? AND ?", span
    ):
        terms.setdefault(a, {})[term] = conf
    ids = {row[0]: search_vocab.unpack([row[5] or b""]).tolist() for row in docs}
    # Not the readers' cache: inside a write transaction an ID may not be committed yet.
    listed = search_vocab.lookup(conn, sorted({i for each in ids.values() for i in each}))
    return {
        a: Facts(
            bool(mod), top, terms.get(a, {}), frozenset(listed[i] for i in ids[a]) | own(media, captured)
        )
        for a, media, captured, top, mod, _ in docs
    }


def tenant_key(conn: sqlite3.Connection, tenant_id: str, *, create: bool = False) -> int | None:
    if create:
        conn.execute("INSERT OR IGNORE INTO search_tenants (tenant_id) VALUES (?)", (tenant_id,))
    row = conn.execute("SELECT key FROM search_tenants WHERE tenant_id = ?", (tenant_id,)).fetchone()
    return int(row[0]) if row else None


def apply(conn: sqlite3.Connection, deltas: Counter[Key]) -> None:
    """Write the changed counts; a row whose counts all reach zero goes."""
    rows: dict[Row, int] = {}  # row → its line in `counts`
    lines, slots, amounts = [], [], []
    for (row, at), n in deltas.items():
        if n:
            lines.append(rows.setdefault(row, len(rows)))
            slots.append(at)
            amounts.append(n)
    counts = np.zeros((len(rows), SLOTS), dtype="<i4")
    np.add.at(counts, (lines, slots), amounts)
    keys: dict[str, int] = {}
    groups: dict[tuple[int, str, int], dict[tuple[str, int], int]] = {}  # one read per group
    for (tenant_id, term, mod, facet, value), line in rows.items():
        if tenant_id not in keys:
            keys[tenant_id] = tenant_key(conn, tenant_id, create=True) or 0
        groups.setdefault((keys[tenant_id], term, facet), {})[(value, mod)] = line
    for (key, term, facet), changed in groups.items():
        values = sorted({value for value, _ in changed})
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            for value, mod, old in conn.execute(
                "SELECT value, moderated, counts FROM facet_counts "
                f"WHERE tenant = ? AND term = ? AND facet = ? AND value IN ({','.join('?' * len(chunk))})",
                (key, term, facet, *chunk),
            ):
                if (value, mod) in changed:
                    counts[changed[(value, mod)]] += np.frombuffer(old, dtype="<i4")
    kept, gone = [], []
    live: list[bool] = np.any(counts, axis=1).tolist()
    for (key, term, facet), changed in groups.items():
        for (value, mod), line in changed.items():
            if live[line]:
                kept.append((key, term, facet, value, mod, counts[line].tobytes()))
            else:
                gone.append((key, term, facet, value, mod))
    conn.executemany("INSERT OR REPLACE INTO facet_counts VALUES (?, ?, ?, ?, ?, ?)", kept)
    conn.executemany(
        "DELETE FROM facet_counts "
        "WHERE tenant = ? AND term = ? AND facet = ? AND value = ? AND moderated = ?",
        gone,
    )


def read(
    conn: sqlite3.Connection, tenant_id: str, term: str, least: int, *, exclude_moderated: bool
) -> Tallies:
    """The facets of the tenant's documents with `term` at a confidence of `least` (whole, 0–100) or more."""
    tallies: Tallies = {f: Counter() for f in (LABEL, PERSON, MEDIA_TYPE, CAPTURE_YEAR)}
    sql = "SELECT facet, value, counts FROM facet_counts WHERE tenant = ? AND term = ?"
    rows = conn.execute(
        sql + (" AND moderated = 0" if exclude_moderated else ""), (_key(conn, tenant_id), term)
    )
    found = rows.fetchall()
    if found:
        sums = np.frombuffer(b"".join(r[2] for r in found), dtype="<i4").reshape(len(found), SLOTS)
        for (facet, value, _), n in zip(found, sums[:, slot(least) :].sum(axis=1).tolist(), strict=True):
            tallies[facet][value] += n
    return tallies


def having(conn: sqlite3.Connection, tenant_id: str, facet: int, value: str) -> int:
    """How many of the tenant's documents have this facet value."""
    return _sum(conn, "facet = ? AND value = ?", (_key(conn, tenant_id), EVERY, facet, value), 0)


def documents(conn: sqlite3.Connection, tenant_id: str, term: str, least: float | None = None) -> int:
    """How many of the tenant's documents have `term` at a confidence of about `least` or more (exact for
    a whole one in 0–100; None: at any confidence)."""
    first = 0 if least is None else slot(least)
    return _sum(conn, "facet = ?", (_key(conn, tenant_id), term, MEDIA_TYPE), first)


def _sum(conn: sqlite3.Connection, where: str, params: tuple[object, ...], first: int) -> int:
    rows = conn.execute(f"SELECT counts FROM facet_counts WHERE tenant = ? AND term = ? AND {where}", params)
    return sum(int(np.frombuffer(r[0], dtype="<i4")[first:].sum()) for r in rows)


def _key(conn: sqlite3.Connection, tenant_id: str) -> int:
    return tenant_key(conn, tenant_id) or -1  # -1: a tenant without documents; no row has it
