"""What both catalog face stores share: matching a stored face by its embedding (the local path), and
carrying person links over when an asset's faces are replaced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from catalog.domain.faces.identity import max_distance, similarity
from catalog.domain.model import BoundingBox, Face, FaceHit, FaceRef
from catalog.domain.ports import FaceMatch
from catalog.domain.run_diff import pair_boxes

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


def carried_persons(
    old: Sequence[tuple[BoundingBox | None, str | None]], new: Sequence[BoundingBox]
) -> list[str | None]:
    """The person of each new face when an asset's faces (`old`: box and person by face_index) are
    replaced by `new` boxes: a new face gets the person of the old face its box is the same face as
    (run_diff.pair_boxes: IoU ≥ 0.5, one-to-one, greedy best overlap first); a person whose face has no
    such match is dropped. Faces stored before their boxes were (box None) cannot be paired by overlap:
    such a face keeps its person at the same face_index, as links were kept before."""
    known = [(i, box) for i, (box, _) in enumerate(old) if box is not None]
    persons: list[str | None] = [None] * len(new)
    paired: set[int] = set()
    for a, j in pair_boxes([box for _, box in known], new):
        persons[j] = old[known[a][0]][1]
        paired.add(j)
    for i, (box, person) in enumerate(old):
        if box is None and i < len(new) and i not in paired:
            persons[i] = person
    return persons


def check_faces(
    embeddings: Sequence[Sequence[float]], boxes: Sequence[BoundingBox], face_ids: Sequence[str]
) -> None:
    """FaceCollection.index_faces' arguments: one box (and, when given, one FaceId) per face."""
    if len(boxes) != len(embeddings):
        raise ValueError(f"{len(boxes)} boxes for {len(embeddings)} faces")
    if face_ids and len(face_ids) != len(embeddings):
        raise ValueError(f"{len(face_ids)} face_ids for {len(embeddings)} faces")


def replaced_face_ids(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """The remote FaceIds an asset had and its new faces do not (each once, in their order)."""
    kept = set(new)
    return list(dict.fromkeys(f for f in old if f and f not in kept))
