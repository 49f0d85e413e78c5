"""Micro-batching of model inference: concurrent pipeline tasks share one forward pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from indexer.cpu import CpuPool

X = TypeVar("X")
R = TypeVar("R")


class InferenceBatcher(Generic[X, R]):
    """Collects inputs for up to `max_wait` seconds or `max_batch` items, then runs `prepare` on each and
    `infer` once on the stacked batch, in one task of the pool: an image's model input is made in the same
    hop as its inference, not in a hop (and a wait in the pool's queue) of its own. An input `prepare`
    refuses fails alone; the others of its batch are inferred."""

    def __init__(
        self,
        infer: Callable[[np.ndarray], list[R]],
        cpu: CpuPool,
        prepare: Callable[[X], np.ndarray],
        *,
        max_batch: int = 8,
        max_wait: float = 0.005,
    ) -> None:
        self._infer = infer
        self._cpu = cpu
        self._prepare = prepare
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._pending: list[tuple[X, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: X) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_batch:
            self._flush_now()
        elif self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_later())
        return await future

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._max_wait)
        self._flusher = None
        self._flush_now()

    def _flush_now(self) -> None:
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
        if batch:
            task = asyncio.create_task(self._run(batch))
            self._running.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._running.discard)

    def _prepare_and_infer(self, items: list[X]) -> list[R | Exception]:
        prepared: list[np.ndarray | Exception] = []
        for item in items:
            try:
                prepared.append(self._prepare(item))
            except Exception as exc:  # this input's error, not its batch's
                prepared.append(exc)
        arrays = [p for p in prepared if not isinstance(p, Exception)]
        results = iter(self._infer(np.stack(arrays)) if arrays else [])
        return [p if isinstance(p, Exception) else next(results) for p in prepared]

    async def _run(self, batch: list[tuple[X, asyncio.Future[R]]]) -> None:
        try:
            results = await self._cpu.run_first(self._prepare_and_infer, [item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
