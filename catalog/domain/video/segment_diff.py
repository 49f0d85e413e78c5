"""Segment-level diff of two analyses of one video: which labels were gained or lost over which time
range. The two runs may cut the video differently (a new shot detector, a new threshold), so ranges
come from overlaying both sets of boundaries; neighbouring ranges with the same change are merged."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from catalog.domain.video.segments import Segment
from catalog.domain.video.timecode import FrameRate, to_timecode


@dataclass(frozen=True)
class SegmentChange:
    """Frames [start_frame, end_frame) gained and lost these label names; times derive from the rate."""

    start_frame: int
    end_frame: int
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    rate: FrameRate
    drop_frame: bool

    @property
    def start(self) -> float:
        return self.rate.seconds(self.start_frame)

    @property
    def end(self) -> float:
        return self.rate.seconds(self.end_frame)

    @property
    def start_timecode(self) -> str:
        return to_timecode(self.start_frame, self.rate, self.drop_frame)

    @property
    def end_timecode(self) -> str:
        return to_timecode(self.end_frame, self.rate, self.drop_frame)


def _labels_at(segments: Sequence[Segment], starts: list[int], frame: int, min_confidence: float) -> set[str]:
    i = bisect.bisect_right(starts, frame) - 1
    if i < 0 or frame >= segments[i].end_frame:
        return set()
    return {lb.name for lb in segments[i].found_labels() if lb.confidence >= min_confidence}


def diff_segments(
    old: Sequence[Segment],
    new: Sequence[Segment],
    rate: FrameRate,
    drop_frame: bool,
    *,
    min_confidence: float = 0.0,
) -> list[SegmentChange]:
    """Ranges where the labels differ, in time order (empty when both runs agree everywhere)."""
    old = sorted(old, key=lambda s: s.start_frame)
    new = sorted(new, key=lambda s: s.start_frame)
    old_starts = [s.start_frame for s in old]
    new_starts = [s.start_frame for s in new]
    cuts = sorted({f for s in (*old, *new) for f in (s.start_frame, s.end_frame)})
    merged: list[tuple[int, int, tuple[str, ...], tuple[str, ...]]] = []
    for a, b in pairwise(cuts):
        before = _labels_at(old, old_starts, a, min_confidence)
        after = _labels_at(new, new_starts, a, min_confidence)
        gained, lost = tuple(sorted(after - before)), tuple(sorted(before - after))
        if merged and merged[-1][1] == a and merged[-1][2:] == (gained, lost):
            merged[-1] = (merged[-1][0], b, gained, lost)
        else:
            merged.append((a, b, gained, lost))
    return [
        SegmentChange(a, b, gained, lost, rate, drop_frame) for a, b, gained, lost in merged if gained or lost
    ]
