"""JSON encoding of a face (and of the boxes every finding has), shared by the run codec and the video
codec (a video's findings keep one face per person)."""

from __future__ import annotations

from typing import Any

from catalog.domain.model import BoundingBox, Face, Landmark


def encode_box(b: BoundingBox) -> list[float]:
    return [b.left, b.top, b.width, b.height]


def decode_box(v: list[float]) -> BoundingBox:
    return BoundingBox(*v)


def encode_face(f: Face) -> dict[str, Any]:
    out: dict[str, Any] = {
        "box": encode_box(f.box),
        "confidence": f.confidence,
        "landmarks": [[m.type, m.x, m.y] for m in f.landmarks],
        "embedding": list(f.embedding),
        "person": f.person_id,
    }
    if f.face_id:  # only Rekognition-indexed faces: local findings encode exactly as before
        out["face_id"] = f.face_id
    if f.time is not None:  # only a video's faces
        out["time"] = f.time
    return out


def decode_face(f: dict[str, Any]) -> Face:
    time = f.get("time")
    return Face(
        box=decode_box(f["box"]),
        confidence=f["confidence"],
        landmarks=tuple(Landmark(t, x, y) for t, x, y in f["landmarks"]),
        embedding=tuple(f["embedding"]),
        person_id=f.get("person"),
        face_id=f.get("face_id", ""),
        time=None if time is None else float(time),
    )
