"""Pure mapping of Amazon Rekognition responses to the domain model. No I/O; vendor dicts stop here.

Conventions:
- Boxes are Rekognition's (ratios of the image's width / height, top-left origin) clipped to the image:
  Rekognition may return a face or word partly outside it (negative Left, Left + Width > 1).
- Confidences are Rekognition's 0–100 as given. Every mapper also applies its `min_confidence` client-side,
  so the result honours the parameter even where the operation has no server-side threshold.
- Labels come highest confidence first (ties keep Rekognition's order); parents keep Rekognition's order.
- properties.quality is the blend `quality_blend` documents: the local analyzer's formula without its
  clipping term (Rekognition reports no clipped-pixel share), so both providers rank images alike. Note
  Rekognition's brightness / sharpness / contrast are its own measures, not equal to the local ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

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
from indexer.recognizers.ports import RemoteMatch

Response = Mapping[str, Any]  # a parsed botocore response (already validated against the service model)

FACE_LANDMARKS = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")
PERSON = "Person"
BRIGHT_OK = (30.0, 70.0)  # brightness band without exposure penalty (as the local analyzer)
CONTRAST_OK = 25.0  # contrast from which low contrast is no longer penalised (as the local analyzer)


def _clip01(v: float) -> float:
    return min(1.0, max(0.0, v))


def to_box(raw: Mapping[str, Any]) -> BoundingBox:
    """Rekognition BoundingBox → domain box, clipped to the image (values inside it pass unchanged)."""
    left, top = float(raw.get("Left", 0.0)), float(raw.get("Top", 0.0))
    width, height = float(raw.get("Width", 0.0)), float(raw.get("Height", 0.0))
    if left < 0.0:
        left, width = 0.0, width + left
    if top < 0.0:
        top, height = 0.0, height + top
    left, top = min(left, 1.0), min(top, 1.0)
    width = max(0.0, min(width, 1.0 - left))
    height = max(0.0, min(height, 1.0 - top))
    return BoundingBox(left=left, top=top, width=width, height=height)


def _instances(raw: Mapping[str, Any], min_confidence: float = 0.0) -> tuple[Instance, ...]:
    found = [
        Instance(
            box=to_box(inst["BoundingBox"]),
            confidence=float(inst.get("Confidence", raw.get("Confidence", 0.0))),
        )
        for inst in raw.get("Instances", ())
        if "BoundingBox" in inst
    ]
    return tuple(sorted((i for i in found if i.confidence >= min_confidence), key=lambda i: -i.confidence))


def _label(raw: Mapping[str, Any]) -> Label:
    return Label(
        name=str(raw["Name"]),
        confidence=float(raw.get("Confidence", 0.0)),
        parents=tuple(str(p["Name"]) for p in raw.get("Parents", ()) if p.get("Name")),
        instances=_instances(raw),
    )


def map_labels(response: Response, *, min_confidence: float, max_labels: int) -> tuple[Label, ...]:
    """DetectLabels (GENERAL_LABELS) → labels with parents and instances, highest confidence first."""
    labels = [_label(raw) for raw in response.get("Labels", ()) if raw.get("Name")]
    labels.sort(key=lambda lb: -lb.confidence)
    return tuple(lb for lb in labels if lb.confidence >= min_confidence)[:max_labels]


def map_objects(response: Response, *, min_confidence: float) -> tuple[Label, ...]:
    """DetectLabels (GENERAL_LABELS) → the located labels (those with instances at or above
    min_confidence) and their parents, as the local object detector gives them."""
    labels = {str(raw["Name"]): _label(raw) for raw in response.get("Labels", ()) if raw.get("Name")}
    located = {
        name: dataclasses.replace(lb, instances=kept)
        for name, lb in labels.items()
        if (kept := tuple(i for i in lb.instances if i.confidence >= min_confidence))
    }
    out = dict(located)
    for lb in located.values():
        for parent in lb.parents:
            if parent not in out:
                out[parent] = (
                    dataclasses.replace(labels[parent], instances=())
                    if parent in labels
                    else Label(parent, lb.confidence, ())
                )
    return tuple(sorted(out.values(), key=lambda lb: (-lb.confidence, lb.name)))


def map_people(response: Response, *, min_confidence: float) -> tuple[Instance, ...]:
    """DetectLabels (GENERAL_LABELS) → the boxes of the "Person" label's instances."""
    found: list[Instance] = []
    for raw in response.get("Labels", ()):
        if raw.get("Name") != PERSON:
            continue
        for inst in raw.get("Instances", ()):
            confidence = float(inst.get("Confidence", raw.get("Confidence", 0.0)))
            if "BoundingBox" in inst and confidence >= min_confidence:
                found.append(Instance(box=to_box(inst["BoundingBox"]), confidence=confidence))
    return tuple(found)


def quality_blend(*, sharpness: float, brightness: float, contrast: float) -> float:
    """Overall quality 0–100: 100 · S^0.5 · E^0.25 · C^0.25 (a weighted geometric mean: one bad factor
    pulls it down hard), with S = sharpness / 100; E = 1 while brightness is within 30–70, falling linearly
    to 0 at brightness 0 or 100; C = min(1, contrast / 25)."""
    s = _clip01(sharpness / 100.0)
    low, high = BRIGHT_OK
    exposure = 1.0 - _clip01(max(low - brightness, brightness - high, 0.0) / low)
    c = _clip01(contrast / CONTRAST_OK)
    return float(100.0 * s**0.5 * exposure**0.25 * c**0.25)


def _hex(raw: Mapping[str, Any], r: int, g: int, b: int) -> str:
    code = str(raw.get("HexCode") or "").strip().lstrip("#").upper()
    return f"#{code}" if len(code) == 6 else f"#{r:02X}{g:02X}{b:02X}"


def map_dominant_colors(colors: Iterable[Mapping[str, Any]]) -> tuple[DominantColor, ...]:
    out = []
    for raw in colors:
        r, g, b = (min(255, max(0, int(raw.get(k, 0)))) for k in ("Red", "Green", "Blue"))
        out.append(DominantColor(r, g, b, _hex(raw, r, g, b), float(raw.get("PixelPercent", 0.0))))
    out.sort(key=lambda c: -c.pixel_percent)
    return tuple(out)


def map_properties(response: Response) -> ImageProperties | None:
    """DetectLabels (IMAGE_PROPERTIES) → whole-image quality and dominant colors (None if absent)."""
    props = response.get("ImageProperties")
    if not props:
        return None
    quality = props.get("Quality", {})
    brightness, sharpness, contrast = (
        round(float(quality.get(k, 0.0)), 2) for k in ("Brightness", "Sharpness", "Contrast")
    )
    return ImageProperties(
        brightness=brightness,
        sharpness=sharpness,
        contrast=contrast,
        quality=round(quality_blend(sharpness=sharpness, brightness=brightness, contrast=contrast), 2),
        dominant_colors=map_dominant_colors(props.get("DominantColors", ())),
    )


def _face(raw: Mapping[str, Any], face_id: str = "") -> Face:
    points = {lm["Type"]: lm for lm in raw.get("Landmarks", ()) if "Type" in lm}
    landmarks = tuple(
        Landmark(type=t, x=float(points[t].get("X", 0.0)), y=float(points[t].get("Y", 0.0)))
        for t in FACE_LANDMARKS
        if t in points
    )
    return Face(
        box=to_box(raw["BoundingBox"]),
        confidence=float(raw.get("Confidence", 0.0)),
        landmarks=landmarks,
        face_id=face_id,
    )


def map_faces(response: Response, *, min_confidence: float) -> tuple[Face, ...]:
    """DetectFaces (DEFAULT attributes) → boxes, confidence and the five landmarks. No embedding:
    Rekognition returns no identity vector (its face search works inside its own collections)."""
    return tuple(
        _face(raw)
        for raw in response.get("FaceDetails", ())
        if "BoundingBox" in raw and float(raw.get("Confidence", 0.0)) >= min_confidence
    )


def map_indexed_faces(
    response: Response, *, min_confidence: float
) -> tuple[tuple[Face, ...], tuple[str, ...]]:
    """IndexFaces (DEFAULT attributes) → (faces, FaceIds indexed but dropped for min_confidence).

    Every face found is kept, as DetectFaces would report it: the indexed ones carry their FaceId, the
    ones the quality filter or MaxFaces left out carry none (they cannot be searched, but can be named).
    Most confident first (ties keep Rekognition's order, indexed faces first), like the local detector;
    this order is the faces' face_index, so the FaceId ↔ (asset, face_index) mapping is fixed right here.
    """
    found: list[Face] = []
    dropped: list[str] = []
    for record in response.get("FaceRecords", ()):
        detail, face_id = record.get("FaceDetail", {}), str(record.get("Face", {}).get("FaceId", ""))
        box = detail.get("BoundingBox") or record.get("Face", {}).get("BoundingBox")
        confidence = float(detail.get("Confidence", record.get("Face", {}).get("Confidence", 0.0)))
        if box is None or confidence < min_confidence:
            if face_id:
                dropped.append(face_id)
            continue
        found.append(_face({**detail, "BoundingBox": box, "Confidence": confidence}, face_id))
    for unindexed in response.get("UnindexedFaces", ()):
        detail = unindexed.get("FaceDetail", {})
        if "BoundingBox" in detail and float(detail.get("Confidence", 0.0)) >= min_confidence:
            found.append(_face(detail))
    found.sort(key=lambda f: -f.confidence)
    return tuple(found), tuple(dropped)


def map_text(response: Response, *, min_confidence: float) -> tuple[TextDetection, ...]:
    """DetectText → LINEs and WORDs in Rekognition's order (lines first). A WORD's parent_index is the index
    of its LINE (ParentId → Id) in the returned tuple; None when that line was filtered out."""
    kept = [
        raw
        for raw in response.get("TextDetections", ())
        if raw.get("Type") in ("LINE", "WORD") and float(raw.get("Confidence", 0.0)) >= min_confidence
    ]
    line_index = {raw["Id"]: i for i, raw in enumerate(kept) if raw["Type"] == "LINE" and "Id" in raw}
    return tuple(
        TextDetection(
            text=str(raw.get("DetectedText", "")),
            confidence=float(raw.get("Confidence", 0.0)),
            type=str(raw["Type"]),
            box=to_box(raw.get("Geometry", {}).get("BoundingBox", {})),
            parent_index=line_index.get(raw.get("ParentId")) if raw["Type"] == "WORD" else None,
        )
        for raw in kept
    )


def map_moderation(response: Response, *, min_confidence: float) -> tuple[ModerationLabel, ...]:
    """DetectModerationLabels → taxonomy labels with their parent's name ("" at the top level)."""
    return tuple(
        ModerationLabel(
            name=str(raw["Name"]),
            confidence=float(raw.get("Confidence", 0.0)),
            parent_name=str(raw.get("ParentName", "")),
        )
        for raw in response.get("ModerationLabels", ())
        if raw.get("Name") and float(raw.get("Confidence", 0.0)) >= min_confidence
    )


# ---- padding: boxes found on a padded canvas, back to the image's own ratios ----------------------------


def _unpad_box(box: BoundingBox, fx: float, fy: float) -> BoundingBox:
    return to_box(
        {"Left": box.left / fx, "Top": box.top / fy, "Width": box.width / fx, "Height": box.height / fy}
    )


def unpad(findings: Findings, fx: float, fy: float) -> Findings:
    """The image filled the top-left fx × fy (fractions ≤ 1) of the canvas sent: rescale every box and
    landmark to ratios of the image itself (clipped to it)."""
    if fx >= 1.0 and fy >= 1.0:
        return findings
    return dataclasses.replace(
        findings,
        labels=tuple(
            dataclasses.replace(
                lb,
                instances=tuple(dataclasses.replace(i, box=_unpad_box(i.box, fx, fy)) for i in lb.instances),
            )
            for lb in findings.labels
        ),
        people=tuple(dataclasses.replace(i, box=_unpad_box(i.box, fx, fy)) for i in findings.people),
        text=tuple(dataclasses.replace(t, box=_unpad_box(t.box, fx, fy)) for t in findings.text),
        faces=tuple(
            dataclasses.replace(
                f,
                box=_unpad_box(f.box, fx, fy),
                landmarks=tuple(
                    Landmark(lm.type, _clip01(lm.x / fx), _clip01(lm.y / fy)) for lm in f.landmarks
                ),
            )
            for f in findings.faces
        ),
    )


def map_face_matches(response: Response) -> list[RemoteMatch]:
    """SearchFaces / SearchFacesByImage → (ExternalImageId, FaceId, Similarity), most similar first."""
    found = [
        RemoteMatch(str(face["ExternalImageId"]), str(face["FaceId"]), float(raw.get("Similarity", 0.0)))
        for raw in response.get("FaceMatches", ())
        if (face := raw.get("Face", {})).get("ExternalImageId") and face.get("FaceId")
    ]
    found.sort(key=lambda r: -r.similarity)
    return found
