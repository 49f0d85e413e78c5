"""The inference batcher: concurrent inputs share one forward pass, each prepared in the same pool task."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from indexer.batcher import InferenceBatcher
from indexer.cpu import CpuPool


@pytest.fixture
def cpu() -> Iterator[CpuPool]:
    pool = CpuPool(2)
    yield pool
    pool.close()


def prepare(value: int) -> np.ndarray:
    if value < 0:
        raise ValueError(f"cannot prepare {value}")
    return np.array([value], dtype=np.float32)


async def test_concurrent_inputs_share_one_forward_pass_and_get_their_own_results(cpu: CpuPool) -> None:
    batches: list[int] = []

    def infer(batch: np.ndarray) -> list[int]:
        batches.append(len(batch))
        return [int(v) * 10 for v in batch[:, 0]]

    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare)
    assert await asyncio.gather(*(batcher.submit(v) for v in (1, 2, 3))) == [10, 20, 30]
    assert batches == [3]


async def test_an_input_prepare_refuses_fails_alone(cpu: CpuPool) -> None:
    batches: list[list[int]] = []

    def infer(batch: np.ndarray) -> list[int]:
        batches.append([int(v) for v in batch[:, 0]])
        return [int(v) * 10 for v in batch[:, 0]]

    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare)
    results = await asyncio.gather(*(batcher.submit(v) for v in (1, -1, 3)), return_exceptions=True)
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and "cannot prepare -1" in str(results[1])
    assert batches == [[1, 3]]  # the others were inferred together, without the refused input


async def test_a_failed_forward_pass_reaches_every_input_of_its_batch(cpu: CpuPool) -> None:
    def infer(batch: np.ndarray) -> list[int]:
        raise RuntimeError("model crashed")

    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare)
    results = await asyncio.gather(*(batcher.submit(v) for v in (1, 2)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_inputs_that_wait_for_a_busy_pool_join_one_batch(cpu: CpuPool) -> None:
    batches: list[list[int]] = []
    release = threading.Event()

    def infer(batch: np.ndarray) -> list[int]:
        batches.append([int(v) for v in batch[:, 0]])
        return [int(v) for v in batch[:, 0]]

    started = threading.Semaphore(0)

    def occupy() -> None:
        started.release()
        release.wait(10)

    busy = [asyncio.ensure_future(cpu.run(occupy)) for _ in range(cpu.threads)]
    for _ in busy:  # every pool thread is taken before the first input comes
        assert await asyncio.to_thread(started.acquire, timeout=10)
    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare, max_batch=3)
    waiting = []
    try:
        for v in (1, 2, 3, 4):  # one at a time, each in a later turn of the loop
            waiting.append(asyncio.ensure_future(batcher.submit(v)))
            await asyncio.sleep(0.01)
        assert batches == []
    finally:
        release.set()
    assert await asyncio.gather(*waiting) == [1, 2, 3, 4]
    await asyncio.gather(*busy)
    assert batches == [[1, 2, 3], [4]]  # max_batch, then the one left over


async def test_a_lone_input_does_not_wait_for_company(cpu: CpuPool, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[object] = []
    run_first = cpu.run_first

    async def spy(fn: Any, *args: Any) -> Any:
        asked.append(fn)
        return await run_first(fn, *args)

    monkeypatch.setattr(cpu, "run_first", spy)
    batcher: InferenceBatcher[int, int] = InferenceBatcher(lambda b: [7] * len(b), cpu, prepare)
    pending = asyncio.ensure_future(batcher.submit(1))
    for _ in range(3):  # a few turns of the loop, no time: the old batcher waited 5 ms for company
        await asyncio.sleep(0)
    assert len(asked) == 1
    assert await pending == 7


async def test_a_closed_pool_fails_what_waits_and_the_batcher_stays_usable_after(cpu: CpuPool) -> None:
    batcher: InferenceBatcher[int, int] = InferenceBatcher(lambda b: [0] * len(b), cpu, prepare)
    cpu.close()
    with pytest.raises(RuntimeError, match="closed"):
        await batcher.submit(1)
    with pytest.raises(RuntimeError, match="closed"):  # asked again: not stuck behind the failed task
        await asyncio.wait_for(batcher.submit(2), 1)
