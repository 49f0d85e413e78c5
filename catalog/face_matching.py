"""Matching a stored face by its embedding: the local path both catalog face collections share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from catalog.face_identity import max_distance, similarity
from catalog.model import Face, FaceHit, FaceRef
from catalog.ports import FaceMatch

Search = Callable[..., Awaitable[list[FaceHit]]]  # FaceCollection.search, bound


async def embedding_matches(
    search: Search, tenant_id: str, face: Face, *, min_similarity: float, limit: int
) -> list[FaceMatch]:
    """Nearest faces within the distance `min_similarity` stands for; none for a face without a vector."""
    if not face.embedding or limit <= 0:
        return []
    hits: Sequence[FaceHit] = await search(
        tenant_id, face.embedding, max_distance=max_distance(min_similarity), limit=limit
    )
    return [FaceMatch(h.face, similarity(h.distance), h.person_id) for h in hits]


def nearest(
    faces: Sequence[tuple[FaceRef, str | None]],
    vectors: Sequence[bytes],
    query: np.ndarray,
    *,
    max_distance: float,
    limit: int,
) -> list[FaceHit]:
    """The stored faces (with their little-endian float32 vectors, all of the query's size) nearest to
    `query`, nearest first, within max_distance: a brute-force pass both catalog face stores share."""
    if not faces or limit <= 0 or query.size == 0:
        return []
    matrix = np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(faces), -1)
    distances = np.linalg.norm(matrix - query, axis=1)
    order = np.argsort(distances, kind="stable")[:limit]
    return [
        FaceHit(faces[i][0], float(distances[i]), faces[i][1]) for i in order if distances[i] <= max_distance
    ]
