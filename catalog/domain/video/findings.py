"""What the "video" analyzer found in one run: the file's media info and its segments (one per shot).
Frozen values, no I/O; catalog.domain.video.video_codec stores them inside a run's findings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from catalog.domain.model import Face, Label, RecognitionResult
from catalog.domain.video.media import VideoInfo
from catalog.domain.video.segments import Segment, merge_lines
from catalog.domain.video.video_people import person_id

VIDEO = "video"  # the analyzer name of a video's segment analysis
# The parameter that marks a video's faces run as its persons' representative faces (person-k is face k-1)
VIDEO_PERSONS = "video_persons"


@dataclass(frozen=True)
class VideoFindings:
    info: VideoInfo
    segments: tuple[Segment, ...] = ()
    people: int = 0  # distinct persons whose faces the keyframes show (segments name them person-1, ...)
    faces: tuple[Face, ...] = ()  # per person (person-k: faces[k-1]) the face seen best, with its time

    def person_faces(self) -> tuple[Face, ...] | None:
        """The faces the video's faces run holds (one per person), or None when this analysis did not keep
        them (a run stored before they were kept: its persons' faces are unknown)."""
        return self.faces if len(self.faces) == self.people else None

    def named(self, names: Mapping[str, str]) -> VideoFindings:
        """The findings with the segments' persons named (`names`: person-k → the name given to its face);
        unnamed persons keep their video-local IDs."""
        if not names:
            return self
        segments = tuple(
            dataclasses.replace(s, faces=tuple(dict.fromkeys(names.get(p, p) for p in s.faces)))
            for s in self.segments
        )
        return dataclasses.replace(self, segments=segments)

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


def person_names(faces_run: RecognitionResult | None, named: Mapping[int, str]) -> dict[str, str]:
    """The video's person-k → name, from the names its faces run's faces were given (`named`: face index
    → name); empty unless that run holds the video's persons (VIDEO_PERSONS: not a poster's faces)."""
    if faces_run is None or not faces_run.parameters.get(VIDEO_PERSONS):
        return {}
    return {person_id(i): name for i, name in named.items()}


def read_in(segment: Segment, words: Sequence[str]) -> bool:
    """Every one of the words (case aside) is in the text read in the segment."""
    text = segment.text.casefold()
    return bool(words) and bool(text) and all(w.casefold() in text for w in words)


def matching_segments(
    segments: Sequence[Segment],
    names: Sequence[str],
    min_confidence: float = 0.0,
    phrases: Sequence[str] = (),
    persons: Sequence[str] = (),
) -> list[tuple[Segment, tuple[str, ...]]]:
    """The segments with a label (classifier's or detector's) of these names or with a parent of one,
    whose text contains one of the phrases, or showing one of the persons (by name: see
    VideoFindings.named), each with what it matched (label names; a phrase as 'text: …', a person as
    'person: …'); names, phrases and persons compare case-insensitively."""
    wanted = {n.lower() for n in names}
    who = {p.casefold() for p in persons}
    out = []
    for segment in segments:
        hit = [
            lb.name
            for lb in segment.found_labels()
            if lb.confidence >= min_confidence
            and (lb.name.lower() in wanted or any(p.lower() in wanted for p in lb.parents))
        ]
        hit += [f"text: {p}" for p in phrases if read_in(segment, p.split())]
        hit += [f"person: {p}" for p in segment.faces if p.casefold() in who]
        if hit:
            out.append((segment, tuple(dict.fromkeys(hit))))
    return out


def shot_showing(segments: Sequence[Segment], names: Sequence[str]) -> Segment | None:
    """The shot to show for a question about the first of `names` any shot shows (a label or one of its
    parents, as matching_segments matches): the one whose keyframes showed it most surely."""
    for name in names:
        found = matching_segments(segments, [name])
        if found:
            return max(
                found, key=lambda hit: max(lb.confidence for lb in hit[0].found_labels() if lb.name in hit[1])
            )[0]
    return None
