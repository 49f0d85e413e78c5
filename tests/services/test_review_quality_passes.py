"""When the quality pass runs: at once after the first answer, then at most every `interval`, and always once
more after the last answer of a burst (so the final answers are weighed, and a reviewer who answered last can
still be paused); `close` stops a pass that waits."""

from __future__ import annotations

import asyncio
import itertools
import time

from catalog.domain.review.tasks import Reviewer
from services.review_quality import ReviewQuality


class CountingQuality(ReviewQuality):
    def __init__(self, interval: float) -> None:
        super().__init__(store=None, results=None, interval=interval)  # type: ignore[arg-type]
        self.passes: list[float] = []

    async def refresh(self, tenant_id: str) -> list[Reviewer]:
        self.passes.append(time.monotonic())
        await asyncio.sleep(0.01)
        return []


async def test_a_burst_gets_a_pass_at_once_and_a_trailing_one() -> None:
    quality = CountingQuality(interval=0.3)
    answered = []
    for _ in range(20):
        await quality.after_answer("t", gold=False)
        answered.append(time.monotonic())
        await asyncio.sleep(0.01)
    await quality.idle()
    passes = list(quality.passes)
    assert passes[0] < answered[-1]  # the first did not wait for the burst to end
    assert passes[-1] >= answered[-1]  # and one came after its last answer
    assert all(b - a >= 0.29 for a, b in itertools.pairwise(passes))  # at most every interval
    assert len(passes) <= 2 + (answered[-1] - answered[0]) / 0.3  # (a loaded machine stretches the burst)
    await quality.after_answer("t", gold=False)  # a later answer: one more pass, after the interval
    await quality.idle()
    assert len(quality.passes) == len(passes) + 1 and quality.passes[-1] - passes[-1] >= 0.29


async def test_close_stops_a_waiting_pass() -> None:
    quality = CountingQuality(interval=30)
    await quality.after_answer("t", gold=False)
    await asyncio.sleep(0.05)
    await quality.after_answer("t", gold=False)  # waits 30 s for its turn
    await asyncio.wait_for(quality.close(), 1)
    assert len(quality.passes) == 1
    await quality.idle()  # nothing left running
