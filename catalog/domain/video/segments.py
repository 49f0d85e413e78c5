"""Time ranges of a video and what was recognised in them. Frozen values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.model import Label
from catalog.domain.video.timecode import FrameRate, to_timecode


@dataclass(frozen=True)
class Segment:
    """One shot: frames [start_frame, end_frame), seconds [start, end), with SMPTE timecodes of both
    ends (end is exclusive, as an EDL's record-out is)."""

    index: int
    start_frame: int
    end_frame: int
    start: float
    end: float
    start_timecode: str
    end_timecode: str
    labels: tuple[Label, ...] = ()
    faces: tuple[str, ...] = ()  # person IDs or names seen in the shot's keyframes
    text: str = ""
    keyframes: tuple[float, ...] = ()  # times of the frames the analysis looked at

    @property
    def duration(self) -> float:
        return self.end - self.start


def timecodes(
    start_frame: int, end_frame: int, rate: FrameRate, drop_frame: bool, offset: int = 0
) -> tuple[str, str]:
    """Timecodes of a frame range, shifted by the source's own start timecode (in frames) if it has one."""
    return (
        to_timecode(start_frame + offset, rate, drop_frame),
        to_timecode(end_frame + offset, rate, drop_frame),
    )


def merge_labels(per_frame: list[list[Label]], max_labels: int) -> tuple[Label, ...]:
    """A shot's labels from its keyframes': each name at its highest confidence, highest first."""
    best: dict[str, Label] = {}
    for labels in per_frame:
        for label in labels:
            if label.name not in best or label.confidence > best[label.name].confidence:
                best[label.name] = label
    return tuple(sorted(best.values(), key=lambda lb: (-lb.confidence, lb.name))[:max_labels])
