"""When the quality pass runs: at once after the first answer, then at most every `interval`, and always once
more after the last answer of a burst (so the final answers are weighed, and a reviewer who answered last can
still be paused); `close` stops a pass that waits."""

from __future__ import annotations

import asyncio
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
    start = time.monotonic()
    for _ in range(20):
        await quality.after_answer("t", gold=False)
        await asyncio.sleep(0.01)
    await quality.idle()
    assert len(quality.passes) == 2  # the first answer's, and one for the 19 answers after it
    assert quality.passes[0] - start < 0.1
    assert quality.passes[1] - quality.passes[0] >= 0.3
    await quality.after_answer("t", gold=False)  # a later answer: one more pass, after the interval
    await quality.idle()
    assert len(quality.passes) == 3 and quality.passes[2] - quality.passes[1] >= 0.3


async def test_close_stops_a_waiting_pass() -> None:
    quality = CountingQuality(interval=30)
    await quality.after_answer("t", gold=False)
    await asyncio.sleep(0.05)
    await quality.after_answer("t", gold=False)  # waits 30 s for its turn
    await asyncio.wait_for(quality.close(), 1)
    assert len(quality.passes) == 1
    await quality.idle()  # nothing left running
