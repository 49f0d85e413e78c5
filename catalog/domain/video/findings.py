"""What the "video" analyzer found in one run: the file's media info and its segments (one per shot).
Frozen values, no I/O; catalog.domain.video.video_codec stores them inside a run's findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.domain.model import Label
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment, merge_lines

VIDEO = "video"  # the analyzer name of a video's segment analysis


@dataclass(frozen=True)
class VideoFindings:
    info: VideoInfo
    segments: tuple[Segment, ...] = ()
    people: int = 0  # distinct persons whose faces the keyframes show (segments name them person-1, ...)

    def labels(self) -> tuple[Label, ...]:
        """Each label (classifier's or detector's) any segment has, at its highest confidence, most
        confident first."""
        best: dict[str, Label] = {}
        for segment in self.segments:
            for label in segment.found_labels():
                if label.name not in best or label.confidence > best[label.name].confidence:
                    best[label.name] = label
        return tuple(sorted(best.values(), key=lambda lb: (-lb.confidence, lb.name)))

    def lines(self) -> list[str]:
        """Every line read in any segment, each once, in time order."""
        return merge_lines([s.text.splitlines() for s in self.segments]).splitlines()

    def moderated(self) -> bool:
        return any(s.moderation for s in self.segments)


def read_in(segment: Segment, words: Sequence[str]) -> bool:
    """Every one of the words (case aside) is in the text read in the segment."""
    text = segment.text.casefold()
    return bool(words) and bool(text) and all(w.casefold() in text for w in words)


def matching_segments(
    segments: Sequence[Segment],
    names: Sequence[str],
    min_confidence: float = 0.0,
    phrases: Sequence[str] = (),
) -> list[tuple[Segment, tuple[str, ...]]]:
    """The segments with a label (classifier's or detector's) of these names or with a parent of one, or
    whose text contains one of the phrases, each with what it matched (label names; a phrase as
    'text: …'); names and phrases compare case-insensitively."""
    wanted = {n.lower() for n in names}
    out = []
    for segment in segments:
        hit = [
            lb.name
            for lb in segment.found_labels()
            if lb.confidence >= min_confidence
            and (lb.name.lower() in wanted or any(p.lower() in wanted for p in lb.parents))
        ]
        hit += [f"text: {p}" for p in phrases if read_in(segment, p.split())]
        if hit:
            out.append((segment, tuple(dict.fromkeys(hit))))
    return out
