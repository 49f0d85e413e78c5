"""When two face vectors are the same person, and how similar they are on Rekognition's 0–100 scale."""

from __future__ import annotations

# dlib's rule for its embeddings: the same person is closer than this (99.38% on LFW per dlib's author)
SAME_PERSON_DISTANCE = 0.6
SAME_PERSON_SIMILARITY = 80.0  # what similarity() gives at SAME_PERSON_DISTANCE (Rekognition's default)
_ZERO_SIMILARITY_DISTANCE = 2 * SAME_PERSON_DISTANCE


def similarity(distance: float) -> float:
    """Embedding distance → similarity 0–100 for a Rekognition-style FaceMatch (two decimals).

    Piecewise linear, so that Rekognition's default similarity threshold 80 means exactly dlib's
    same-person rule: distance 0 → 100, 0.3 → 90, 0.6 (SAME_PERSON_DISTANCE) → 80, then falling
    faster, 0.9 → 40, ≥ 1.2 → 0. Different people measure about 0.7–1.0 apart (similarity 67–27).
    """
    if not distance >= 0:  # also rejects NaN
        raise ValueError(f"distance must be >= 0, got {distance}")
    if distance <= SAME_PERSON_DISTANCE:
        value = 100.0 - (100.0 - SAME_PERSON_SIMILARITY) * distance / SAME_PERSON_DISTANCE
    else:
        rest = (_ZERO_SIMILARITY_DISTANCE - distance) / (_ZERO_SIMILARITY_DISTANCE - SAME_PERSON_DISTANCE)
        value = SAME_PERSON_SIMILARITY * max(0.0, rest)
    return round(value, 2)


def max_distance(min_similarity: float) -> float:
    """The inverse of similarity(): the largest distance whose similarity is ≥ min_similarity (for turning
    a FaceMatchThreshold into a nearest-neighbour distance cut-off)."""
    if not 0 <= min_similarity <= 100:
        raise ValueError("min_similarity must be within 0..100")
    if min_similarity >= SAME_PERSON_SIMILARITY:
        return (100.0 - min_similarity) / (100.0 - SAME_PERSON_SIMILARITY) * SAME_PERSON_DISTANCE
    span = _ZERO_SIMILARITY_DISTANCE - SAME_PERSON_DISTANCE
    return _ZERO_SIMILARITY_DISTANCE - min_similarity / SAME_PERSON_SIMILARITY * span
