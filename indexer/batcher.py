"""Micro-batching of model inference: concurrent pipeline tasks share one forward pass."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from indexer.cpu import CpuPool

X = TypeVar("X")
R = TypeVar("R")
_Pending = list[tuple[X, "asyncio.Future[R]"]]


class InferenceBatcher(Generic[X, R]):
    """Inputs wait for a pool thread together: the batch is whatever waits (up to `max_batch`) when a
    thread takes it, never an idle pool waiting for more. Each input is prepared in that task and the
    stacked batch inferred once: an image's model input is made in the same hop as its inference. An
    input `prepare` refuses fails alone; the others of its batch are inferred.

    A fixed wait for company (5 ms, before) left the pool idle at the end of a run and at every lull;
    while the pool is busy, inputs gather behind it anyway."""

    def __init__(
        self,
        infer: Callable[[np.ndarray], list[R]],
        cpu: CpuPool,
        prepare: Callable[[X], np.ndarray],
        *,
        max_batch: int = 8,
    ) -> None:
        self._infer = infer
        self._cpu = cpu
        self._prepare = prepare
        self._max_batch = max_batch
        self._lock = threading.Lock()  # _pending is taken on a pool thread
        self._pending: _Pending[X, R] = []
        self._asked = False  # a pool task is on its way and has not taken its batch yet
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: X) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._pending.append((item, future))
        self._ask()
        return await future

    def _ask(self) -> None:
        """Send a pool task for what waits, unless one is on its way (it will take this too)."""
        with self._lock:
            if self._asked or not self._pending:
                return
            self._asked = True
        # A task, not the pool at once: inputs submitted in this turn of the loop join the same batch.
        task = asyncio.create_task(self._run())
        self._running.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._running.discard)

    def _take(self, into: _Batch[X, R] | None = None) -> _Pending[X, R]:
        """What waits (up to max_batch), moved into `into` unless its task gave up; None: all of it."""
        with self._lock:
            if into is not None and into.abandoned:
                return []
            size = self._max_batch if into is not None else len(self._pending)
            batch, self._pending = self._pending[:size], self._pending[size:]
            self._asked = False
            if into is not None:
                into.items = batch
        return batch

    def _take_and_infer(self, into: _Batch[X, R]) -> list[R | Exception]:
        batch = self._take(into)
        prepared: list[np.ndarray | Exception] = []
        for item, _ in batch:
            try:
                prepared.append(self._prepare(item))
            except Exception as exc:  # this input's error, not its batch's
                prepared.append(exc)
        arrays = [p for p in prepared if not isinstance(p, Exception)]
        try:
            results = iter(self._infer(np.stack(arrays)) if arrays else [])
            return [p if isinstance(p, Exception) else next(results) for p in prepared]
        except Exception as exc:  # the forward pass failed: every input of the batch gets its error
            return [exc] * len(batch)

    async def _run(self) -> None:
        batch: _Batch[X, R] = _Batch()
        try:
            results = await self._cpu.run_first(self._take_and_infer, batch)
        except BaseException as exc:  # the pool closed, or this was cancelled: its inputs get no answer
            with self._lock:
                batch.abandoned = True  # a pool task that has not started yet takes nothing
            for _, future in batch.items or self._take():
                if future.done():
                    continue
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                else:
                    future.cancel()
            if not isinstance(exc, Exception):
                raise
            return  # its callers have the error; nobody awaits this task
        self._ask()  # inputs beyond max_batch, or that came after the batch was taken
        for (_, future), result in zip(batch.items, results, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


class _Batch(Generic[X, R]):
    """The inputs one pool task took (on the pool thread), for its task on the loop."""

    def __init__(self) -> None:
        self.items: _Pending[X, R] = []
        self.abandoned = False
