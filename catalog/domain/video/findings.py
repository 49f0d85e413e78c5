"""What the "video" analyzer found in one run: the file's media info and its segments (one per shot).
Frozen values, no I/O; catalog.domain.video.video_codec stores them inside a run's findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.domain.model import Label
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment

VIDEO = "video"  # the analyzer name of a video's segment analysis


@dataclass(frozen=True)
class VideoFindings:
    info: VideoInfo
    segments: tuple[Segment, ...] = ()
    people: int = 0  # distinct persons whose faces the keyframes show (segments name them person-1, ...)

    def labels(self) -> tuple[Label, ...]:
        """Each label any segment has, at its highest confidence, most confident first."""
        best: dict[str, Label] = {}
        for segment in self.segments:
            for label in segment.labels:
                if label.name not in best or label.confidence > best[label.name].confidence:
                    best[label.name] = label
        return tuple(sorted(best.values(), key=lambda lb: (-lb.confidence, lb.name)))


def matching_segments(
    segments: Sequence[Segment], names: Sequence[str], min_confidence: float = 0.0
) -> list[tuple[Segment, tuple[str, ...]]]:
    """The segments with a label of these names (or a label whose parents include one), each with the
    names it matched; names compare case-insensitively."""
    wanted = {n.lower() for n in names}
    out = []
    for segment in segments:
        hit = [
            lb.name
            for lb in segment.labels
            if lb.confidence >= min_confidence
            and (lb.name.lower() in wanted or any(p.lower() in wanted for p in lb.parents))
        ]
        if hit:
            out.append((segment, tuple(dict.fromkeys(hit))))
    return out
