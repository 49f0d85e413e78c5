"""A tenant's index documents as numpy columns, held in memory for the text path (`search_text`).

A free-text query touches most of a tenant's documents: its words match tens of thousands of them, and its
meaning is scored against every vector. Read row by row from SQLite on each query that took seconds at
100k assets; as columns in memory the whole query is a few array operations.

The columns are read once per tenant and generation: every write to a tenant's documents (upsert, delete,
rebuild, clear) gives it a new random generation in `search_generations`, in the same transaction. A reader
compares the generation inside its own read transaction, so the columns it uses are exactly what the
transaction sees (writes from other processes included); a changed tenant is read again, whole.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from catalog.sqlite.search import vocab as search_vocab

T = TypeVar("T")
_REMEMBERING = threading.Lock()

MAX_TENANTS = 4  # tenants whose columns stay in memory (the most recently searched)
MAX_BYTES = 1 << 30  # and at most this much of them (the one searched now always stays: 1.5 kB a vector)
MAX_REMEMBERED = 32  # hit sets kept with a tenant's columns (Columns.remember)

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_generations (
    tenant_id TEXT PRIMARY KEY,
    generation INTEGER NOT NULL     -- random, new at every write of the tenant's documents
) WITHOUT ROWID;
"""


def touch(conn: sqlite3.Connection, tenant_ids: Iterable[str]) -> None:
    """New generations for these tenants (inside the writer's transaction)."""
    conn.executemany(
        "INSERT INTO search_generations VALUES (?, random()) "
        "ON CONFLICT (tenant_id) DO UPDATE SET generation = excluded.generation",
        [(t,) for t in sorted(set(tenant_ids))],
    )


def touch_all(conn: sqlite3.Connection) -> None:
    """New generations for every tenant that ever had documents (a clear, a full rebuild)."""
    conn.execute("UPDATE search_generations SET generation = random()")
    conn.execute(
        "INSERT INTO search_generations SELECT tenant_id, random() FROM search_tenants WHERE true "
        "ON CONFLICT (tenant_id) DO NOTHING"
    )


def generation(conn: sqlite3.Connection, tenant_id: str) -> int | None:
    row = conn.execute(
        "SELECT generation FROM search_generations WHERE tenant_id = ?", (tenant_id,)
    ).fetchone()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class Columns:
    """One tenant's documents, in asset-ID order (position i is the same document in every column)."""

    generation: int | None
    ids: np.ndarray  # asset IDs, UTF-8 bytes, sorted as SQLite sorts them
    fts_ids: np.ndarray  # docs_fts rowid of each (int64), and the positions sorting them
    fts_order: np.ndarray
    top_confidence: np.ndarray  # float64
    moderated: np.ndarray  # bool
    created: np.ndarray  # created_at as stored (text sorts as time)
    captured: np.ndarray  # captured_at as stored, '' without one
    media: np.ndarray  # index into media_types
    media_types: tuple[str, ...]
    tone: np.ndarray  # index into tones (int8: a byte a document, not a string)
    tones: tuple[str, ...]  # catalog.domain.tone names ('' unknown)
    facet_offsets: np.ndarray  # document i's facet value IDs are facet_ids[offsets[i]:offsets[i + 1]]
    facet_ids: np.ndarray
    vector_rows: np.ndarray  # positions of the documents with a vector, ascending
    vectors: np.ndarray  # float32 (len(vector_rows), dimensions), L2-normalised
    # What searches read at this generation, by what they asked (e.g. a term's hits): valid as long as
    # the columns are, since the tenant's documents have not changed.
    remembered: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))

    def remember(self, key: Hashable, read: Callable[[], T]) -> T:
        """read(), or what it gave for `key` before (the most recently used MAX_REMEMBERED are kept)."""
        with _REMEMBERING:
            if key in self.remembered:
                self.remembered.move_to_end(key)
                found: T = self.remembered[key]
                return found
        value = read()
        with _REMEMBERING:
            self.remembered[key] = value
            while len(self.remembered) > MAX_REMEMBERED:
                self.remembered.popitem(last=False)
        return value

    def positions(self, asset_ids: np.ndarray) -> np.ndarray:
        """Positions of these asset IDs (bytes); -1 for IDs without a document."""
        if not len(self.ids) or not len(asset_ids):
            return np.full(len(asset_ids), -1, dtype=np.int64)
        width = f"S{max(self.ids.dtype.itemsize, asset_ids.dtype.itemsize)}"
        ids, wanted = self.ids.astype(width, copy=False), asset_ids.astype(width, copy=False)
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        return np.where(ids[at] == wanted, at, -1)

    def of_fts(self, rowids: np.ndarray) -> np.ndarray:
        """Positions of the documents with these docs_fts rowids (others: other tenants' rows, left out)."""
        if not len(self.fts_ids) or not len(rowids):
            return np.empty(0, dtype=np.int64)
        ordered = self.fts_ids[self.fts_order]
        at = np.minimum(np.searchsorted(ordered, rowids), len(ordered) - 1)
        return np.asarray(self.fts_order[at[ordered[at] == rowids]], dtype=np.int64)

    def facet_values_of(self, rows: np.ndarray) -> np.ndarray:
        """The facet value IDs of the documents at these positions, concatenated."""
        starts = self.facet_offsets[rows]
        lengths = self.facet_offsets[rows + 1] - starts
        total = int(lengths.sum())
        # Each document's range of facet_ids laid end to end, without a Python loop: the k-th value out
        # is its document's start plus its place within that document.
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return np.asarray(self.facet_ids[np.arange(total, dtype=np.int64) + shift], dtype=np.int64)


def read(conn: sqlite3.Connection, tenant_id: str, at: int | None) -> Columns:
    """The tenant's columns as the caller's read transaction sees them (generation `at`)."""
    rows = conn.execute(
        "SELECT asset_id, fts_id, top_confidence, moderated, created_at, COALESCE(captured_at, ''), "
        "media_type, facet_ids, tone FROM docs WHERE tenant_id = ? ORDER BY asset_id",
        (tenant_id,),
    ).fetchall()
    ids = np.array([r[0].encode() for r in rows], dtype=bytes) if rows else np.empty(0, dtype="S1")
    fts_ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    media_types = tuple(sorted({r[6] for r in rows}))
    code = {m: i for i, m in enumerate(media_types)}
    tones = tuple(sorted({r[8] for r in rows}))
    tone_code = {t: i for i, t in enumerate(tones)}
    blobs = [r[7] or b"" for r in rows]
    lengths = np.fromiter((len(b) // 4 for b in blobs), dtype=np.int64, count=len(rows))
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    vector_rows, vectors = _vectors(conn, tenant_id, ids)
    return Columns(
        generation=at,
        ids=ids,
        fts_ids=fts_ids,
        fts_order=np.argsort(fts_ids, kind="stable"),
        top_confidence=np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows)),
        moderated=np.fromiter((bool(r[3]) for r in rows), dtype=bool, count=len(rows)),
        created=_texts([r[4] for r in rows]),
        captured=_texts([r[5] for r in rows]),
        media=np.fromiter((code[r[6]] for r in rows), dtype=np.int32, count=len(rows)),
        media_types=media_types,
        tone=np.fromiter((tone_code[r[8]] for r in rows), dtype=np.int8, count=len(rows)),
        tones=tones,
        facet_offsets=offsets,
        facet_ids=search_vocab.unpack(blobs).astype(np.int64),
        vector_rows=vector_rows,
        vectors=vectors,
    )


def _texts(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=str) if values else np.empty(0, dtype="U1")


def _vectors(conn: sqlite3.Connection, tenant_id: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tenant's vectors of the commonest length, in asset-ID order, and the positions they belong to."""
    found = conn.execute(
        "SELECT asset_id, embedding FROM doc_vectors WHERE tenant_id = ? ORDER BY asset_id", (tenant_id,)
    ).fetchall()
    if not found or not len(ids):
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    sizes = [len(r[1]) for r in found]
    size = max(set(sizes), key=sizes.count)
    kept = [r for r in found if len(r[1]) == size]
    wanted = np.array([r[0].encode() for r in kept], dtype=bytes)
    width = f"S{max(ids.dtype.itemsize, wanted.dtype.itemsize)}"
    at = np.minimum(np.searchsorted(ids.astype(width), wanted.astype(width)), len(ids) - 1)
    known = ids.astype(width)[at] == wanted.astype(width)
    matrix = np.frombuffer(b"".join(r[1] for r in kept), dtype="<f4").reshape(len(kept), size // 4)
    return at[known].astype(np.int64), np.ascontiguousarray(matrix[known])


class Cache:
    """Columns of the most recently searched tenants, shared by the reader threads. One thread reads a
    tenant's columns while the others searching it wait for them (not each reading its own copy)."""

    def __init__(self, max_tenants: int = MAX_TENANTS, max_bytes: int = MAX_BYTES) -> None:
        self._max = max_tenants
        self._max_bytes = max_bytes
        self._held: OrderedDict[str, Columns] = OrderedDict()
        self._lock = threading.Lock()
        self._reading: dict[str, threading.Lock] = {}  # per tenant, while its columns are read

    def get(self, conn: sqlite3.Connection, tenant_id: str) -> Columns:
        """The tenant's columns as of the caller's read transaction (read again if a write changed them)."""
        at = generation(conn, tenant_id)
        with self._lock:
            reading = self._reading.setdefault(tenant_id, threading.Lock())
        with reading:  # other tenants' searches go on meanwhile
            with self._lock:
                held = self._held.get(tenant_id)
                if held is not None and held.generation == at:
                    self._held.move_to_end(tenant_id)
                    return held
            fresh = read(conn, tenant_id, at)
            with self._lock:
                self._held[tenant_id] = fresh
                self._held.move_to_end(tenant_id)
                while len(self._held) > 1 and (
                    len(self._held) > self._max
                    or sum(c.nbytes for c in self._held.values()) > self._max_bytes
                ):
                    self._held.popitem(last=False)
            return fresh
