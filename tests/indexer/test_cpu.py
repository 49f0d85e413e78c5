"""The CPU pool: work in turn, urgent work ahead of it, errors to the caller, close cancels what waits."""

from __future__ import annotations

import asyncio
import threading

import pytest

from indexer.cpu import CpuPool


async def test_run_first_goes_ahead_of_work_waiting_its_turn() -> None:
    pool = CpuPool(1)
    order: list[str] = []
    gate = threading.Event()
    try:
        busy = asyncio.ensure_future(pool.run(gate.wait, 5))
        await asyncio.sleep(0.05)  # the only thread is busy: what follows waits
        in_turn = [asyncio.ensure_future(pool.run(order.append, f"turn{i}")) for i in range(3)]
        await asyncio.sleep(0.01)
        first = asyncio.ensure_future(pool.run_first(order.append, "first"))
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(busy, first, *in_turn)
        assert order == ["first", "turn0", "turn1", "turn2"]
    finally:
        pool.close()


async def test_results_and_errors_reach_their_callers() -> None:
    pool = CpuPool(2)

    def boom() -> None:
        raise ValueError("bad pixels")

    try:
        assert await pool.run(sum, [1, 2, 3]) == 6
        assert await pool.run_first(max, 4, 9) == 9
        with pytest.raises(ValueError, match="bad pixels"):
            await pool.run(boom)
        assert await pool.run(lambda: "still working") == "still working"
    finally:
        pool.close()


async def test_close_finishes_started_work_and_cancels_what_waits() -> None:
    pool = CpuPool(1)
    gate, started = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        gate.wait(5)
        return "done"

    running = asyncio.ensure_future(pool.run(slow))
    await asyncio.to_thread(started.wait, 5)
    waiting = asyncio.ensure_future(pool.run(str, "never"))
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(asyncio.to_thread(pool.close))
    await asyncio.sleep(0.05)
    gate.set()
    await closing
    assert await running == "done"
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(RuntimeError, match="closed"):
        await pool.run(str, "after close")
