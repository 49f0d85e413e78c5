"""Originals this process has just stored, handed to its own worker in memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

DEFAULT_MAX_BYTES = 128 << 20
# Jobs are claimed oldest first, so an original still held this many keeps behind one just taken had its job
# claimed by another process (a server beside `ingest --wait`): no one here will take it. (Wrong only with a
# worker concurrency near this, whose jobs start out of order: then a dropped one is read from the store.)
BEHIND = 64
PATIENCE_SECONDS = 10.0  # a wait for room ends after this long without a take (the worker is on long jobs)


class FreshOriginals:
    """Originals held from ingest until this process's worker makes their renditions, so the worker does
    not read back what was written a moment ago: from the disk (originals are written past the page cache)
    or from S3 (a GET of the whole original). Bounded: the oldest go first, and a job another process
    claims just finds nothing here (it reads the store, as after a restart). Event-loop only (no lock).

    Ingest from files (`room`) waits for room instead of pushing out originals the worker is about to take:
    a folder is read far faster than it is analysed, and past the bound the worker read the pushed-out ones
    back from the store (62 of 160 12 MP photos in bench.ingest). An upload does not wait: it keeps as before.

    Off until a worker runs in this process (`enabled`): an API process whose jobs go to other processes
    would only hold bytes no one takes."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, *, patience: float = PATIENCE_SECONDS) -> None:
        self._max_bytes = max_bytes
        self._patience = patience
        self._held: OrderedDict[str, tuple[int, bytes]] = OrderedDict()  # key → (keep number, bytes)
        self._kept = 0
        self._size = 0
        self._promised = 0  # bytes granted by room() and not yet kept or given back
        self._waiters: list[asyncio.Future[None]] = []
        self._stalled = False  # a wait ran out of patience: no more waits until the next take
        self.enabled = False

    def keep(self, key: str, data: bytes) -> None:
        if not self.enabled or len(data) > self._max_bytes or key in self._held:
            return
        self._held[key] = (self._kept, data)
        self._kept += 1
        self._size += len(data)
        while self._size > self._max_bytes:
            _, (_, oldest) = self._held.popitem(last=False)
            self._size -= len(oldest)

    def take(self, key: str) -> bytes | None:
        """The bytes kept under key, once (None: read the store)."""
        found = self._held.pop(key, None)
        if found is None:
            return None
        number, data = found
        self._size -= len(data)
        while self._held:  # what was kept long before this was claimed elsewhere
            oldest_key, (oldest_number, oldest) = next(iter(self._held.items()))
            if oldest_number >= number - BEHIND:
                break
            del self._held[oldest_key]
            self._size -= len(oldest)
        self._stalled = False
        self._wake()
        return data

    @contextlib.asynccontextmanager
    async def room(self, size: int) -> AsyncIterator[None]:
        """Wait until `size` more bytes fit (a keep inside the block then pushes nothing out), for at most
        the patience without a take."""
        if not self.enabled or size > self._max_bytes:  # nothing will be kept
            yield
            return
        await self._wait_for_room(size)
        self._promised += size
        try:
            yield
        finally:
            self._promised -= size
            self._wake()  # an ingest that kept nothing (a duplicate, a refusal) leaves its room free

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_for_room(self, size: int) -> None:
        loop = asyncio.get_running_loop()
        while not self._stalled and self._size + self._promised + size > self._max_bytes:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, self._patience)
            except TimeoutError:
                self._stalled = True  # keep() pushes the oldest out, as for an upload
