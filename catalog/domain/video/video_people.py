"""Faces across a video grouped per person: each face joins the nearest person seen so far in this
video (centroid of their face vectors) when it is within dlib's same-person distance, else starts a new
one. The IDs ("person-1", ...) are local to one analysis; naming them across the archive is the face
collection's job."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from catalog.domain.face_identity import SAME_PERSON_DISTANCE


class VideoPeople:
    def __init__(self, max_distance: float = SAME_PERSON_DISTANCE) -> None:
        self.max_distance = max_distance
        self._sums: list[np.ndarray] = []
        self._counts: list[int] = []

    @property
    def count(self) -> int:
        return len(self._counts)

    def assign(self, embedding: Sequence[float]) -> str:
        """The person ID of one face (online: earlier faces keep their IDs)."""
        v = np.asarray(embedding, dtype=np.float64)
        if v.ndim != 1 or not v.size:
            raise ValueError("a face embedding must be a non-empty vector")
        best, best_distance = -1, float("inf")
        for i, (total, n) in enumerate(zip(self._sums, self._counts, strict=True)):
            distance = float(np.linalg.norm(total / n - v))
            if distance < best_distance:
                best, best_distance = i, distance
        if best >= 0 and best_distance < self.max_distance:
            self._sums[best] = self._sums[best] + v
            self._counts[best] += 1
            return f"person-{best + 1}"
        self._sums.append(v.copy())
        self._counts.append(1)
        return f"person-{len(self._counts)}"
