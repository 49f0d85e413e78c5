"""A bounded pool for blocking CPU work (decoding, inference), so it never runs on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
_FIRST, _IN_TURN = 0, 1


class CpuPool:
    """Threads, not processes: Pillow's codecs and onnxruntime release the GIL while they work.

    Work waits in two lines. `run` takes its turn; `run_first` goes ahead of everything that waits: short
    steps that finish an asset (a batch's inference) or feed the pipeline (reading a file being ingested).
    With one line, such a step waited behind every decode queued before it (~40 ms each), which kept
    assets in flight longer and left the pool with nothing to do at moments.
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._waiting: list[tuple[int, int, Callable[[], None], asyncio.Future[Any]]] = []
        self._order = itertools.count()  # first come, first served within a line
        self._changed = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"cpu_{i}", daemon=True) for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._submit(_IN_TURN, functools.partial(fn, *args, **kwargs))

    async def run_first(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._submit(_FIRST, functools.partial(fn, *args, **kwargs))

    async def _submit(self, line: int, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                outcome: tuple[Any, BaseException | None] = (call(), None)
            except BaseException as exc:  # the caller's to handle, not this thread's
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody waits
                loop.call_soon_threadsafe(_settle, future, *outcome)

        with self._changed:
            if self._closed:
                raise RuntimeError("the CPU pool is closed")
            heapq.heappush(self._waiting, (line, next(self._order), job, future))
            self._changed.notify()
        return await future

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if not self._waiting:  # closed, and nothing left to do
                    return
                job = heapq.heappop(self._waiting)[2]
            job()

    def close(self) -> None:
        """Work already started finishes; waiting work is dropped and its callers' awaits cancelled."""
        with self._changed:
            self._closed = True
            dropped, self._waiting = self._waiting, []
            self._changed.notify_all()
        for *_, future in dropped:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                future.get_loop().call_soon_threadsafe(future.cancel)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
