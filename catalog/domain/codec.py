"""JSON encoding of recognition findings, for adapters that store them as documents."""

from __future__ import annotations

from typing import Any

from catalog.domain.embedded_codec import decode_embedded, encode_embedded
from catalog.domain.model import (
    BoundingBox,
    DominantColor,
    Face,
    Findings,
    ImageProperties,
    Instance,
    Label,
    Landmark,
    ModerationLabel,
    TextDetection,
)
from catalog.domain.video.video_codec import decode_video, encode_video


def _box(b: BoundingBox) -> list[float]:
    return [b.left, b.top, b.width, b.height]


def _unbox(v: list[float]) -> BoundingBox:
    return BoundingBox(*v)


def _label(lb: Label) -> list[Any]:
    out: list[Any] = [lb.name, lb.confidence, list(lb.parents)]
    if lb.instances:  # only located labels get a 4th element: other labels encode exactly as before
        out.append([[_box(i.box), i.confidence] for i in lb.instances])
    return out


def _unlabel(v: list[Any]) -> Label:
    instances = tuple(Instance(_unbox(b), c) for b, c in v[3]) if len(v) > 3 else ()
    return Label(v[0], v[1], tuple(v[2]), instances)


def _face(f: Face) -> dict[str, Any]:
    out: dict[str, Any] = {
        "box": _box(f.box),
        "confidence": f.confidence,
        "landmarks": [[m.type, m.x, m.y] for m in f.landmarks],
        "embedding": list(f.embedding),
        "person": f.person_id,
    }
    if f.face_id:  # only Rekognition-indexed faces: local findings encode exactly as before
        out["face_id"] = f.face_id
    return out


def encode_findings(r: Findings) -> dict[str, Any]:
    """Only the non-empty fields, compactly (boxes as [left, top, width, height])."""
    out: dict[str, Any] = {}
    if r.labels:
        out["labels"] = [_label(lb) for lb in r.labels]
    if r.faces:
        out["faces"] = [_face(f) for f in r.faces]
    if r.people:
        out["people"] = [[_box(i.box), i.confidence] for i in r.people]
    if r.text:
        out["text"] = [[t.text, t.confidence, t.type, _box(t.box), t.parent_index] for t in r.text]
    if r.moderation:
        out["moderation"] = [[m.name, m.confidence, m.parent_name] for m in r.moderation]
    if r.properties is not None:
        p = r.properties
        out["properties"] = {
            "brightness": p.brightness,
            "sharpness": p.sharpness,
            "contrast": p.contrast,
            "quality": p.quality,
            "colors": [[c.red, c.green, c.blue, c.hex, c.pixel_percent] for c in p.dominant_colors],
        }
    if r.embedding:
        out["embedding"] = list(r.embedding)
    if r.embedded is not None:
        out["embedded"] = encode_embedded(r.embedded)
    if r.video is not None:
        out["video"] = encode_video(r.video)
    return out


def decode_findings(data: dict[str, Any]) -> Findings:
    out: dict[str, Any] = {}
    if "labels" in data:
        out["labels"] = tuple(_unlabel(v) for v in data["labels"])
    if "faces" in data:
        out["faces"] = tuple(
            Face(
                box=_unbox(f["box"]),
                confidence=f["confidence"],
                landmarks=tuple(Landmark(t, x, y) for t, x, y in f["landmarks"]),
                embedding=tuple(f["embedding"]),
                person_id=f.get("person"),
                face_id=f.get("face_id", ""),
            )
            for f in data["faces"]
        )
    if "people" in data:
        out["people"] = tuple(Instance(_unbox(b), c) for b, c in data["people"])
    if "text" in data:
        out["text"] = tuple(TextDetection(t, c, ty, _unbox(b), pi) for t, c, ty, b, pi in data["text"])
    if "moderation" in data:
        out["moderation"] = tuple(ModerationLabel(n, c, p) for n, c, p in data["moderation"])
    if "properties" in data:
        p = data["properties"]
        out["properties"] = ImageProperties(
            brightness=p["brightness"],
            sharpness=p["sharpness"],
            contrast=p["contrast"],
            quality=p["quality"],
            dominant_colors=tuple(DominantColor(*c) for c in p["colors"]),
        )
    if "embedding" in data:
        out["embedding"] = tuple(data["embedding"])
    if "embedded" in data:
        out["embedded"] = decode_embedded(data["embedded"])
    if "video" in data:
        out["video"] = decode_video(data["video"])
    return Findings(**out)
