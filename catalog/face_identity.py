"""When two face vectors are the same person, and how similar they are on Rekognition's 0–100 scale."""

from __future__ import annotations

# dlib's 128-d face vectors: the same person is closer than this (euclidean); its authors' tuned threshold.
SAME_PERSON_DISTANCE = 0.6
# The similarity a same-person distance maps to, so `threshold: 80` means "the same person".
SAME_PERSON_SIMILARITY = 80.0
# Beyond this distance the similarity is 0.
MAX_DISTANCE = 1.2


def similarity(distance: float) -> float:
    """Piecewise linear: 0 → 100, SAME_PERSON_DISTANCE → 80, MAX_DISTANCE → 0."""
    if distance <= SAME_PERSON_DISTANCE:
        value = 100 - (100 - SAME_PERSON_SIMILARITY) * distance / SAME_PERSON_DISTANCE
    else:
        span = MAX_DISTANCE - SAME_PERSON_DISTANCE
        value = SAME_PERSON_SIMILARITY * max(0.0, 1 - (distance - SAME_PERSON_DISTANCE) / span)
    return round(value, 2)


def max_distance_for(similarity_threshold: float) -> float:
    """The inverse of similarity(): the largest distance that still reaches the threshold."""
    t = min(max(similarity_threshold, 0.0), 100.0)
    if t >= SAME_PERSON_SIMILARITY:
        return SAME_PERSON_DISTANCE * (100 - t) / (100 - SAME_PERSON_SIMILARITY)
    return SAME_PERSON_DISTANCE + (MAX_DISTANCE - SAME_PERSON_DISTANCE) * (1 - t / SAME_PERSON_SIMILARITY)
