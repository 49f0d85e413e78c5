"""Shots and their keyframes from one decoding pass, streamed: each shot is handed on as soon as the
detector has seen past its end (≤ 75 frames later), so memory stays bounded however long the video.

A boundary is placed in the middle of each run of frames the detector scores above the threshold: for
a hard cut (a run of one or two frames) that is the first frame of the new shot; for a dissolve, its
midpoint. Keyframe candidates inside a transition are not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from indexer.video.frames import DecodedFrame
from indexer.video.keyframes import Candidate, choose, thin

MAX_PENDING = 48  # keyframe candidates held for one shot (≈ 35 MB at 640 px)


class BoundaryModel(Protocol):
    def probabilities(self, frames: Iterable[NDArray[np.uint8]]) -> Iterator[NDArray[np.float32]]: ...


@dataclass(frozen=True)
class Shot:
    index: int
    start: int  # first frame
    end: int  # one past the last frame
    start_time: float
    end_time: float
    keyframes: tuple[Candidate, ...] = field(default=(), repr=False)


class _Tracker:
    def __init__(self, per_shot: int) -> None:
        self.per_shot = per_shot
        self.pending: list[Candidate] = []
        self.times: dict[int, float] = {}
        self.transition: set[int] = set()
        self.start = 0
        self.count = 0

    def add(self, frame: DecodedFrame) -> None:
        self.times[frame.index] = frame.time
        if frame.picture is not None:
            self.pending.append(Candidate.of(frame.index, frame.time, frame.picture))
            if len(self.pending) > MAX_PENDING:
                self.pending = thin(self.pending, MAX_PENDING * 3 // 4)

    def close(self, end: int, end_time: float) -> Shot:
        mine = [c for c in self.pending if c.index < end]
        self.pending = [c for c in self.pending if c.index >= end]
        steady = [c for c in mine if c.index not in self.transition] or mine
        shot = Shot(
            self.count,
            self.start,
            end,
            self.times[self.start],
            end_time,
            tuple(choose(steady, self.per_shot)),
        )
        for i in [i for i in self.times if i < end - 1]:
            del self.times[i]
        self.transition = {i for i in self.transition if i >= end}
        self.start, self.count = end, self.count + 1
        return shot


def detect_shots(
    frames: Iterable[DecodedFrame], model: BoundaryModel, *, threshold: float = 0.5, per_shot: int = 3
) -> Iterator[Shot]:
    """Shots in order, each with up to `per_shot` keyframes chosen from the sampled frames."""
    tracker = _Tracker(per_shot)
    last_time = 0.0

    def smalls() -> Iterator[NDArray[np.uint8]]:
        nonlocal last_time
        for frame in frames:
            tracker.add(frame)
            last_time = frame.time
            yield frame.small

    position = 0
    run_start: int | None = None
    for chunk in model.probabilities(smalls()):
        for p in chunk:
            if p > threshold:
                tracker.transition.add(position)
                if run_start is None:
                    run_start = position
            elif run_start is not None:
                boundary = (
                    run_start + (position - run_start) // 2 + 1 if position - run_start > 2 else position
                )
                run_start = None
                if boundary > tracker.start:
                    yield tracker.close(boundary, tracker.times[boundary])
            position += 1
    if position:
        frame_time = _frame_duration(tracker.times)
        yield tracker.close(position, last_time + frame_time)


def _frame_duration(times: dict[int, float]) -> float:
    ordered = sorted(times.items())
    if len(ordered) >= 2:
        (i0, t0), (i1, t1) = ordered[-2], ordered[-1]
        return (t1 - t0) / max(1, i1 - i0)
    return 0.0
