"""Export records as CSV with a chosen column mapping, and as W3C Web Annotations (an AnnotationPage that a
IIIF Presentation 3 viewer shows on the canvas) for boxes. Pure functions."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from catalog.domain.export_record import ExportRecord
from catalog.domain.field_names import DEFAULT_LANGUAGE, field_name

MAX_COLUMNS = 50
LIST_SEPARATOR = "; "


def _join(values: Sequence[str]) -> str:
    return LIST_SEPARATOR.join(values)


# What a CSV column can hold: field name → its text for one record.
FIELDS: dict[str, Callable[[ExportRecord], str]] = {
    "assetId": lambda r: r.asset_id,
    "filename": lambda r: r.filename,
    "mediaType": lambda r: r.media_type,
    "width": lambda r: str(r.width),
    "height": lambda r: str(r.height),
    "title": lambda r: r.embedded.title,
    "caption": lambda r: r.embedded.caption,
    "keywords": lambda r: _join(r.all_keywords()),
    "hierarchicalKeywords": lambda r: _join(["|".join(p) for p in r.embedded.hierarchy]),
    "labels": lambda r: _join([k.name for k in r.keywords]),
    "persons": lambda r: _join(r.persons()),
    "creators": lambda r: _join(r.embedded.creators),
    "credit": lambda r: r.embedded.credit,
    "copyright": lambda r: r.embedded.copyright,
    "usageTerms": lambda r: r.embedded.usage_terms,
    "city": lambda r: r.embedded.city,
    "country": lambda r: r.embedded.country,
    "latitude": lambda r: f"{r.embedded.gps.latitude}" if r.embedded.gps else "",
    "longitude": lambda r: f"{r.embedded.gps.longitude}" if r.embedded.gps else "",
    "capturedAt": lambda r: r.embedded.captured_text,
}
DEFAULT_COLUMNS = ("assetId", "filename", "title", "caption", "keywords", "persons", "labels")


class ColumnError(ValueError):
    pass


def columns_of(mapping: Sequence[tuple[str, str]], language: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    """(field, header) pairs checked against FIELDS; empty: DEFAULT_COLUMNS. A column without a header of
    its own is headed by the field's name in `language`."""
    chosen = list(mapping) or [(f, "") for f in DEFAULT_COLUMNS]
    if len(chosen) > MAX_COLUMNS:
        raise ColumnError(f"at most {MAX_COLUMNS} columns")
    unknown = [f for f, _ in chosen if f not in FIELDS]
    if unknown:
        raise ColumnError(f"unknown field(s) {unknown}: choose from {', '.join(FIELDS)}")
    return [(f, h or field_name(f, language)) for f, h in chosen]


def csv_text(records: Sequence[ExportRecord], mapping: Sequence[tuple[str, str]] = ()) -> str:
    """One header row, then one row per record. Cells that a spreadsheet would run as a formula are
    prefixed with an apostrophe."""
    columns = columns_of(mapping, records[0].field_language if records else DEFAULT_LANGUAGE)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([h for _, h in columns])
    for record in records:
        writer.writerow([_cell(FIELDS[f](record)) for f, _ in columns])
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def web_annotations(record: ExportRecord, canvas: str) -> dict[str, Any]:
    """The record's regions as a W3C Web Annotation AnnotationPage on `canvas` (the image's URI), boxes as
    `xywh=` media fragments in pixels: IIIF Presentation 3 viewers show it over the image."""
    items: list[dict[str, Any]] = []
    w, h = max(record.width, 1), max(record.height, 1)

    def add(n: int, box: Any, text: str, purpose: str, creator: dict[str, str] | None) -> None:
        x, y = round(box.left * w), round(box.top * h)
        xywh = f"{x},{y},{round(box.width * w)},{round(box.height * h)}"
        annotation: dict[str, Any] = {
            "id": f"{canvas}#annotation-{n}",
            "type": "Annotation",
            "motivation": "tagging" if purpose == "tagging" else "describing",
            "target": {
                "type": "SpecificResource",
                "source": canvas,
                "selector": {
                    "type": "FragmentSelector",
                    "conformsTo": "http://www.w3.org/TR/media-frags/",
                    "value": f"xywh={xywh}",
                },
            },
        }
        if text:
            annotation["body"] = {
                "type": "TextualBody",
                "value": text,
                "purpose": purpose,
                "format": "text/plain",
            }
        if creator is not None:
            annotation["creator"] = creator
        items.append(annotation)

    n = 0
    for drawn in record.embedded.regions:
        n += 1
        add(n, drawn.box, drawn.name, "identifying" if drawn.name else "tagging", None)
    for found in record.regions:
        n += 1
        software = {"type": "Software", "name": f"{found.model} {found.model_version}"}
        purpose = "identifying" if found.kind == "face" and found.name else "describing"
        add(n, found.box, found.name or found.kind, purpose, software)
    return {
        "@context": ["http://www.w3.org/ns/anno.jsonld", "http://iiif.io/api/presentation/3/context.json"],
        "id": f"{canvas}#annotations",
        "type": "AnnotationPage",
        "items": items,
    }
