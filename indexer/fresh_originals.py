"""Originals this process has just stored, handed to its own worker in memory."""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_MAX_BYTES = 128 << 20


class FreshOriginals:
    """Originals held from ingest until this process's worker makes their renditions, so the worker does
    not read back what was written a moment ago: from the disk (originals are written past the page cache)
    or from S3 (a GET of the whole original). Bounded: the oldest go first, and a job another process
    claims just finds nothing here (it reads the store, as after a restart). Event-loop only (no lock).

    Off until a worker runs in this process (`enabled`): an API process whose jobs go to other processes
    would only hold bytes no one takes."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._held: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self.enabled = False

    def keep(self, key: str, data: bytes) -> None:
        if not self.enabled or len(data) > self._max_bytes or key in self._held:
            return
        self._held[key] = data
        self._size += len(data)
        while self._size > self._max_bytes:
            _, oldest = self._held.popitem(last=False)
            self._size -= len(oldest)

    def take(self, key: str) -> bytes | None:
        """The bytes kept under key, once (None: read the store)."""
        data = self._held.pop(key, None)
        if data is not None:
            self._size -= len(data)
        return data
