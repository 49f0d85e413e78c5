"""JSON encoding of EmbeddedMetadata inside a run's findings (both catalog stacks store findings as JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.domain.embedded import EmbeddedMetadata, GpsPoint, ImageRegion
from catalog.domain.model import BoundingBox

_TEXT = (
    "title",
    "caption",
    "credit",
    "copyright",
    "usage_terms",
    "city",
    "country",
    "problem",
    "captured_partial",
)
_LISTS = ("keywords", "creators", "persons", "sources")


def encode_embedded(m: EmbeddedMetadata) -> dict[str, Any]:
    """Only what is set; boxes as [left, top, width, height]."""
    out: dict[str, Any] = {k: getattr(m, k) for k in _TEXT if getattr(m, k)}
    out.update({k: list(getattr(m, k)) for k in _LISTS if getattr(m, k)})
    if m.hierarchy:
        out["hierarchy"] = [list(p) for p in m.hierarchy]
    if m.gps is not None:
        out["gps"] = [m.gps.latitude, m.gps.longitude, m.gps.altitude]
    if m.regions:
        b = "box"
        out["regions"] = [
            {
                b: [r.box.left, r.box.top, r.box.width, r.box.height],
                "name": r.name,
                "kind": r.kind,
                "src": r.source,
            }
            for r in m.regions
        ]
    if m.captured_at is not None:
        out["captured_at"] = m.captured_at.isoformat()
    if m.truncated:
        out["truncated"] = True
    return out


def decode_embedded(data: dict[str, Any]) -> EmbeddedMetadata:
    gps = data.get("gps")
    fields: dict[str, Any] = {k: data[k] for k in _TEXT if k in data}
    fields.update({k: tuple(data[k]) for k in _LISTS if k in data})
    return EmbeddedMetadata(
        **fields,
        hierarchy=tuple(tuple(p) for p in data.get("hierarchy", ())),
        gps=GpsPoint(gps[0], gps[1], gps[2]) if gps else None,
        regions=tuple(
            ImageRegion(BoundingBox(*r["box"]), r.get("name", ""), r.get("kind", ""), r.get("src", ""))
            for r in data.get("regions", ())
        ),
        captured_at=datetime.fromisoformat(data["captured_at"]) if "captured_at" in data else None,
        truncated=bool(data.get("truncated", False)),
    )
