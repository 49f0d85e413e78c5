"""AnalysisInput.shared: work several analyzers of one image need is done once, whoever asks first."""

from __future__ import annotations

import asyncio

import pytest
from PIL import Image

from indexer.recognizers.ports import AnalysisInput, SharedWork, WorkKey

BOXES: WorkKey[list[int]] = WorkKey("boxes")
OTHER: WorkKey[list[int]] = WorkKey("other")


async def test_concurrent_askers_share_one_computation() -> None:
    shared = SharedWork()
    calls = 0
    gate = asyncio.Event()

    async def compute() -> list[int]:
        nonlocal calls
        calls += 1
        await gate.wait()  # every asker arrives while the work is still running
        return [calls]

    askers = [asyncio.create_task(shared.get(BOXES, compute)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*askers) == [[1], [1], [1]]
    assert await shared.get(BOXES, compute) == [1]  # done: later askers get the same result
    assert await shared.get(OTHER, compute) == [2]  # another key is other work
    assert calls == 2


async def test_a_failure_reaches_every_asker() -> None:
    shared = SharedWork()

    async def broken() -> list[int]:
        await asyncio.sleep(0)
        raise ValueError("model crashed")

    results = await asyncio.gather(
        shared.get(BOXES, broken), shared.get(BOXES, broken), return_exceptions=True
    )
    assert [type(r) for r in results] == [ValueError, ValueError]


async def test_one_asker_cancelled_does_not_cancel_the_work_for_the_others() -> None:
    shared = SharedWork()
    gate = asyncio.Event()

    async def compute() -> list[int]:
        await gate.wait()
        return [7]

    first = asyncio.create_task(shared.get(BOXES, compute))
    second = asyncio.create_task(shared.get(BOXES, compute))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == [7]


def test_each_input_has_its_own_shared_work() -> None:
    image = Image.new("RGB", (8, 8))
    a = AnalysisInput(image=image, jpeg=b"", original_key="k")
    b = AnalysisInput(image=image, jpeg=b"", original_key="k")
    assert a.shared is not b.shared
    assert a == b  # the memo is not part of what the input is


async def test_a_picture_decoded_ahead_is_used_without_decoding_again() -> None:
    ahead = Image.new("RGB", (9, 7), (1, 2, 3))
    item = AnalysisInput(jpeg=b"not a jpeg", original_key="k", pictures={224: ahead})
    assert await item.picture(None, min_side=224) is ahead
    with pytest.raises(OSError):  # any other scale is decoded from the bytes (here: none)
        await item.picture(None, min_side=0)
