"""Matching a stored face by its embedding: the local path both catalog face collections share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from catalog.face_identity import max_distance, similarity
from catalog.model import Face, FaceHit
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
