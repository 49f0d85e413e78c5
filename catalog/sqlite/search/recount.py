"""A tenant's facet counts (`search_counts`) counted from its rows at once: after a rebuild, which loads
documents without counting them one by one, and when a migration derives the counts.

Per term — one range of the `terms` primary key; '' is every document, at its top confidence — the
documents having it are crossed with each one's facet values in numpy and the (value, moderated, slot)
cells counted with one sort, instead of a Python counter update per (document, term, value): the same
numbers as adding up `search_counts.change` document by document (the tests compare the two).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator

import numpy as np

from catalog.sqlite.search import counts as search_counts
from catalog.sqlite.search import vocab as search_vocab
from catalog.sqlite.search.counts import EVERY, SLOTS

Line = tuple[int, str, int, str, int, bytes]  # a row of facet_counts
Group = tuple[str, np.ndarray, np.ndarray]  # a term, the positions of its documents, their confidences


class _Documents:
    """The tenant's documents as arrays: moderation, top confidence and their facet values (codes into
    `values`) as one flat array cut by `offsets`."""

    def __init__(self, conn: sqlite3.Connection, tenant_id: str) -> None:
        self.position: dict[str, int] = {}
        moderated, top, blobs = [], [], []
        owned: dict[tuple[int, str], int] = {}  # media types and capture years → their code, from 0
        own_docs, own_codes = [], []
        sql = "SELECT asset_id, moderated, top_confidence, media_type, captured_at, facet_ids FROM docs "
        for i, (asset, mod, conf, media, captured, ids) in enumerate(
            conn.execute(sql + "WHERE tenant_id = ?", (tenant_id,))
        ):
            self.position[asset] = i
            moderated.append(mod)
            top.append(conf)
            blobs.append(ids or b"")
            for value in search_counts.own(media, captured):
                own_docs.append(i)
                own_codes.append(owned.setdefault(value, len(owned)))
        n = len(top)
        self.moderated = np.asarray(moderated, dtype=np.int64)
        self.top = np.asarray(top, dtype=np.float64)
        # Labels and persons: their search_vocab IDs, as dense codes after the media types and years.
        ids, dense = np.unique(search_vocab.unpack(blobs), return_inverse=True)
        listed = search_vocab.lookup(conn, ids.tolist())
        self.values = [*owned, *(listed[i] for i in ids.tolist())]
        width = max(len(self.values), 1)
        docs = np.concatenate(
            [np.asarray(own_docs, dtype=np.int64), np.repeat(np.arange(n), [len(b) // 4 for b in blobs])]
        )
        codes = np.concatenate([np.asarray(own_codes, dtype=np.int64), dense.reshape(-1) + len(owned)])
        # One cell per (document, value), in document order (a value listed twice counts once).
        pairs = np.unique(docs * width + codes)
        self.codes = pairs % width
        self.sizes = np.bincount(pairs // width, minlength=n)
        self.offsets = np.cumsum(self.sizes) - self.sizes

    def count(self, key: int, term: str, docs: np.ndarray, slots: np.ndarray) -> list[Line]:
        """The rows of counts of `term`, had by `docs` (positions) at `slots`."""
        sizes = self.sizes[docs]
        each = np.repeat(np.arange(len(docs)), sizes)  # the document of each (document, value) cell
        at = np.arange(len(each)) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # its place among its values
        codes = self.codes[self.offsets[docs][each] + at]
        cells, n = np.unique(
            (codes * 2 + self.moderated[docs][each]) * SLOTS + slots[each], return_counts=True
        )
        lines, found = np.unique(cells // SLOTS, return_inverse=True)
        counts = np.zeros((len(lines), SLOTS), dtype="<i4")
        counts[found, cells % SLOTS] = n
        out = []
        for (code, mod), row in zip((divmod(line, 2) for line in lines.tolist()), counts, strict=True):
            facet, value = self.values[code]
            out.append((key, term, facet, value, mod, row.tobytes()))
        return sorted(out)  # in primary-key order


def _terms(conn: sqlite3.Connection, tenant_id: str, docs: _Documents) -> Iterator[Group]:
    """Each of the tenant's terms, EVERY first (the primary-key order)."""
    yield EVERY, np.arange(len(docs.top)), docs.top
    rows = conn.execute(
        "SELECT term, asset_id, confidence FROM terms WHERE tenant_id = ? AND term > '' ORDER BY term",
        (tenant_id,),
    )  # a label named '' would be EVERY: search_counts leaves it out of the counts
    for term, group in itertools.groupby(rows, key=lambda r: r[0]):
        found = [(p, c) for _, a, c in group if (p := docs.position.get(a)) is not None]
        positions = np.fromiter((p for p, _ in found), dtype=np.int64, count=len(found))
        yield term, positions, np.fromiter((c for _, c in found), dtype=np.float64, count=len(found))


def recount(conn: sqlite3.Connection, tenant_id: str) -> None:
    """Replace the tenant's counts by a count of its documents' rows."""
    key = search_counts.tenant_key(conn, tenant_id, create=True) or 0
    conn.execute("DELETE FROM facet_counts WHERE tenant = ?", (key,))
    docs = _Documents(conn, tenant_id)
    for term, positions, confidences in _terms(conn, tenant_id, docs):
        if len(positions):
            lines = docs.count(key, term, positions, search_counts.slots(confidences))
            conn.executemany("INSERT INTO facet_counts VALUES (?, ?, ?, ?, ?, ?)", lines)
