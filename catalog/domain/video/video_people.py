"""Faces across a video grouped per person: each face joins the nearest person seen so far in this
video (centroid of their face vectors) when it is within dlib's same-person distance, else starts a new
one. The IDs ("person-1", ...) are local to one analysis. Each person keeps one representative face (the
largest, so the best resolved: its box and embedding, from the keyframe it was seen in); the video's
faces run holds those, person-k as face k-1, and the face collection names them across the archive."""

from __future__ import annotations

import dataclasses

import numpy as np

from catalog.domain.faces.identity import SAME_PERSON_DISTANCE
from catalog.domain.model import Face


def person_id(face_index: int) -> str:
    """The video-local ID of the person whose representative face has this index in the faces run."""
    return f"person-{face_index + 1}"


def face_index(person: str) -> int | None:
    """The inverse of person_id (None for anything else)."""
    number = person.removeprefix("person-")
    if number == person or not number.isdigit() or int(number) < 1:
        return None
    return int(number) - 1


def _seen_better(new: Face, old: Face) -> bool:
    """The larger face (more pixels for its embedding), then the more confident one."""
    area_new, area_old = new.box.width * new.box.height, old.box.width * old.box.height
    return (area_new, new.confidence) > (area_old, old.confidence)


class VideoPeople:
    def __init__(self, max_distance: float = SAME_PERSON_DISTANCE) -> None:
        self.max_distance = max_distance
        self._sums: list[np.ndarray] = []
        self._counts: list[int] = []
        self._best: list[Face] = []

    @property
    def count(self) -> int:
        return len(self._counts)

    def faces(self) -> tuple[Face, ...]:
        """Each person's representative face, in person order, with the time of its keyframe."""
        return tuple(self._best)

    def assign(self, face: Face, time: float) -> str:
        """The person ID of one face seen at `time` seconds (online: earlier faces keep their IDs)."""
        v = np.asarray(face.embedding, dtype=np.float64)
        if v.ndim != 1 or not v.size:
            raise ValueError("a face embedding must be a non-empty vector")
        seen = dataclasses.replace(face, time=round(time, 6), person_id=None)
        best, best_distance = -1, float("inf")
        for i, (total, n) in enumerate(zip(self._sums, self._counts, strict=True)):
            distance = float(np.linalg.norm(total / n - v))
            if distance < best_distance:
                best, best_distance = i, distance
        if best >= 0 and best_distance < self.max_distance:
            self._sums[best] = self._sums[best] + v
            self._counts[best] += 1
            if _seen_better(seen, self._best[best]):
                self._best[best] = seen
            return person_id(best)
        self._sums.append(v.copy())
        self._counts.append(1)
        self._best.append(seen)
        return person_id(len(self._counts) - 1)
