"""The inference batcher: concurrent inputs share one forward pass, each prepared in the same pool task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

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

    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare, max_wait=0.05)
    assert await asyncio.gather(*(batcher.submit(v) for v in (1, 2, 3))) == [10, 20, 30]
    assert batches == [3]


async def test_an_input_prepare_refuses_fails_alone(cpu: CpuPool) -> None:
    batches: list[list[int]] = []

    def infer(batch: np.ndarray) -> list[int]:
        batches.append([int(v) for v in batch[:, 0]])
        return [int(v) * 10 for v in batch[:, 0]]

    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare, max_wait=0.05)
    results = await asyncio.gather(*(batcher.submit(v) for v in (1, -1, 3)), return_exceptions=True)
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and "cannot prepare -1" in str(results[1])
    assert batches == [[1, 3]]  # the others were inferred together, without the refused input


async def test_a_failed_forward_pass_reaches_every_input_of_its_batch(cpu: CpuPool) -> None:
    def infer(batch: np.ndarray) -> list[int]:
        raise RuntimeError("model crashed")

    batcher: InferenceBatcher[int, int] = InferenceBatcher(infer, cpu, prepare, max_wait=0.05)
    results = await asyncio.gather(*(batcher.submit(v) for v in (1, 2)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
