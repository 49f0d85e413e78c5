"""Time ranges of a video and what was recognised in them. Frozen values, no I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.domain.labels import order
from catalog.domain.labels.detections import GUESS_BELOW
from catalog.domain.model import Asset, Label, ModerationLabel
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
    text: str = ""  # lines read in the shot's keyframes, one per line, each once
    keyframes: tuple[float, ...] = ()  # times of the frames the analysis looked at
    objects: tuple[Label, ...] = ()  # the object detector's labels over the keyframes (no boxes)
    moderation: tuple[ModerationLabel, ...] = ()  # each moderation label at its highest confidence

    @property
    def duration(self) -> float:
        return self.end - self.start

    def holds(self, time: float) -> bool:
        """The second `time` (a keyframe's) lies in the segment."""
        return self.start <= time < self.end

    def found_labels(self) -> tuple[Label, ...]:
        """The classifier's and the detector's labels, one per name at its highest confidence."""
        if not self.objects:
            return self.labels
        return merge_labels([list(self.labels), list(self.objects)], len(self.labels) + len(self.objects))

    def shown_labels(self) -> tuple[Label, ...]:
        """What the shot is said to show: the classifier's labels and the objects the detector is sure of,
        one per name (parents of both), the most specific first (labels.order). The detector's guesses
        under GUESS_BELOW (a Dog 39 in a coffee shot) stay labels of the video, as a photo's do, but are
        not what the shot shows."""
        sure = [o for o in self.objects if o.confidence >= GUESS_BELOW]
        return tuple(order.specific_first(order.merge_labels([self.labels, sure])))

    def settled(self, min_confidence: float) -> Segment:
        """The segment without its tentative labels when anything else in the shot is sure, as an image's
        give way (catalog.domain.metadata.machine_labels). Tentative: the classifier's labels under its
        min_confidence, which only a keyframe no class reached it on keeps; sure: a label of another
        keyframe, an object at min_confidence, a face."""
        sure = [lb for lb in self.labels if lb.confidence >= min_confidence]
        if len(sure) == len(self.labels):
            return self
        if sure or any(lb.confidence >= min_confidence for lb in self.objects) or self.faces:
            return dataclasses.replace(self, labels=tuple(sure))
        return self


def keyframe_of(segment: Segment, children: Sequence[Asset]) -> Asset | None:
    """The segment's keyframe among its video's children: the FRAME child whose time lies in it."""
    return next((c for c in children if c.frame_time is not None and segment.holds(c.frame_time)), None)


def segment_of(segments: Sequence[Segment], frame: Asset) -> Segment | None:
    """The segment a video's keyframe (a FRAME child of the video these are the segments of) is from."""
    if frame.frame_time is None:
        return None
    return next((s for s in segments if s.holds(frame.frame_time)), None)


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


def merge_lines(per_frame: list[list[str]]) -> str:
    """A shot's text from its keyframes' lines: each line once (case and spacing aside), in reading order
    of the first keyframe that has it."""
    seen: dict[str, str] = {}
    for lines in per_frame:
        for line in lines:
            clean = " ".join(line.split())
            if clean and clean.casefold() not in seen:
                seen[clean.casefold()] = clean
    return "\n".join(seen.values())


def merge_moderation(per_frame: list[list[ModerationLabel]]) -> tuple[ModerationLabel, ...]:
    """Each moderation label at its highest confidence over the keyframes, highest first."""
    best: dict[str, ModerationLabel] = {}
    for labels in per_frame:
        for label in labels:
            if label.name not in best or label.confidence > best[label.name].confidence:
                best[label.name] = label
    return tuple(sorted(best.values(), key=lambda m: (-m.confidence, m.name)))
