"""Micro-batching of model inference: concurrent pipeline tasks share one forward pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from indexer.cpu import CpuPool

R = TypeVar("R")


class InferenceBatcher(Generic[R]):
    """Collects inputs for up to `max_wait` seconds or `max_batch` items, then runs `infer` once in the pool.

    When only one task is waiting the batch runs at once, so a lone request pays no added latency.
    """

    def __init__(
        self,
        infer: Callable[[np.ndarray], list[R]],
        cpu: CpuPool,
        *,
        max_batch: int = 8,
        max_wait: float = 0.005,
    ) -> None:
        self._infer = infer
        self._cpu = cpu
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._pending: list[tuple[np.ndarray, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: np.ndarray) -> R:
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

    def _stack_and_infer(self, items: list[np.ndarray]) -> list[R]:
        return self._infer(np.stack(items))  # the copy into one array too: off the event loop

    async def _run(self, batch: list[tuple[np.ndarray, asyncio.Future[R]]]) -> None:
        try:
            results = await self._cpu.run(self._stack_and_infer, [item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
