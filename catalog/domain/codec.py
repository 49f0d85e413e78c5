"""JSON encoding of recognition findings, for adapters that store them as documents."""

from __future__ import annotations

from typing import Any

from catalog.domain.embedded_codec import decode_embedded, encode_embedded
from catalog.domain.faces.codec import decode_box, decode_face, encode_box, encode_face
from catalog.domain.model import (
    DominantColor,
    Findings,
    ImageProperties,
    Instance,
    Label,
    ModerationLabel,
    TextDetection,
)
from catalog.domain.video.video_codec import decode_video, encode_video


def _label(lb: Label) -> list[Any]:
    out: list[Any] = [lb.name, lb.confidence, list(lb.parents)]
    if lb.instances:  # only located labels get a 4th element: other labels encode exactly as before
        out.append([[encode_box(i.box), i.confidence] for i in lb.instances])
    return out


def _unlabel(v: list[Any]) -> Label:
    instances = tuple(Instance(decode_box(b), c) for b, c in v[3]) if len(v) > 3 else ()
    return Label(v[0], v[1], tuple(v[2]), instances)


def encode_findings(r: Findings) -> dict[str, Any]:
    """Only the non-empty fields, compactly (boxes as [left, top, width, height])."""
    out: dict[str, Any] = {}
    if r.labels:
        out["labels"] = [_label(lb) for lb in r.labels]
    if r.faces:
        out["faces"] = [encode_face(f) for f in r.faces]
    if r.people:
        out["people"] = [[encode_box(i.box), i.confidence] for i in r.people]
    if r.text:
        out["text"] = [[t.text, t.confidence, t.type, encode_box(t.box), t.parent_index] for t in r.text]
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
        if p.off_tone_percent is not None:  # measured (not by older versions, nor by Rekognition)
            out["properties"]["off_tone"] = p.off_tone_percent
        if p.median_chroma is not None:
            out["properties"]["chroma"] = p.median_chroma
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
        out["faces"] = tuple(decode_face(f) for f in data["faces"])
    if "people" in data:
        out["people"] = tuple(Instance(decode_box(b), c) for b, c in data["people"])
    if "text" in data:
        out["text"] = tuple(TextDetection(t, c, ty, decode_box(b), pi) for t, c, ty, b, pi in data["text"])
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
            off_tone_percent=p.get("off_tone"),
            median_chroma=p.get("chroma"),
        )
    if "embedding" in data:
        out["embedding"] = tuple(data["embedding"])
    if "embedded" in data:
        out["embedded"] = decode_embedded(data["embedded"])
    if "video" in data:
        out["video"] = decode_video(data["video"])
    return Findings(**out)
