"""Facet values (label names, lower-cased persons) as small integers, so that a document carries its
values as one packed array (`docs.facet_ids`) and a hit set's facets are a numpy bincount.

Once committed an ID never changes meaning (nothing deletes from `facet_values`, `clear` included), so a
reader may cache what it has read.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence

import numpy as np

_CHUNK = 500  # IDs per lookup (bound parameters per statement)


def pack(ids: Iterable[int]) -> bytes:
    return np.fromiter(ids, dtype="<i4").tobytes()


def unpack(blobs: Iterable[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<i4")


def ids(
    conn: sqlite3.Connection, values: Sequence[tuple[int, str]], known: dict[tuple[int, str], int]
) -> list[int]:
    """The IDs of (facet, value) pairs, new ones added, inside the caller's write transaction; `known`
    caches them for the rest of that transaction only (a rollback may take new ones back)."""
    for value in values:
        if value not in known:
            row = conn.execute("SELECT id FROM facet_values WHERE facet = ? AND value = ?", value).fetchone()
            if row is None:
                row = (
                    conn.execute("INSERT INTO facet_values (facet, value) VALUES (?, ?)", value).lastrowid,
                )
            known[value] = int(row[0])
    return [known[v] for v in values]


def lookup(conn: sqlite3.Connection, wanted: Sequence[int]) -> dict[int, tuple[int, str]]:
    """(facet, value) of each ID, from the table."""
    found: dict[int, tuple[int, str]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(
            f"SELECT id, facet, value FROM facet_values WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
        found.update((i, (f, v)) for i, f, v in rows)
    return found


class Vocabulary:
    """A reader's cache of lookup()."""

    def __init__(self) -> None:
        self._values: dict[int, tuple[int, str]] = {}  # committed IDs only: read back, never guessed
        self._lock = threading.Lock()  # reader threads share the cache

    def values(self, conn: sqlite3.Connection, wanted: Sequence[int]) -> dict[int, tuple[int, str]]:
        """(facet, value) of each ID, for readers (what they see is committed)."""
        with self._lock:
            missing = [i for i in wanted if i not in self._values]
        found = lookup(conn, missing)
        with self._lock:
            self._values.update(found)
            return {i: self._values[i] for i in wanted if i in self._values}
