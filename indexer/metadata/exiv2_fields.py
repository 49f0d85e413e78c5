"""From exiv2's key → value maps (as pyexiv2 reads them) to EmbeddedMetadata: which field wins where IPTC,
XMP and EXIF say the same thing, hierarchical keywords, regions, GPS, capture date. Pure: no exiv2 here.

Precedence follows the Metadata Working Group's guidance: XMP first, then IPTC-IIM, then EXIF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from catalog.domain.embedded import (
    MAX_ITEMS,
    MAX_PATH_DEPTH,
    MAX_REGIONS,
    MAX_TEXT,
    EmbeddedMetadata,
    GpsPoint,
    ImageRegion,
)
from catalog.domain.model import BoundingBox
from indexer.image_exif import exif_offset, parse_exif_datetime

Raw = Mapping[str, Any]


class _Bounds:
    """Cuts what is over a bound and remembers that it did."""

    def __init__(self) -> None:
        self.truncated = False

    def text(self, value: str) -> str:
        value = value.replace("\x00", "").strip()
        if len(value) > MAX_TEXT:
            self.truncated = True
            return value[:MAX_TEXT]
        return value

    def items(self, values: list[str]) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for v in values:
            v = self.text(v)
            if v:
                out[v] = None
        if len(out) > MAX_ITEMS:
            self.truncated = True
        return tuple(out)[:MAX_ITEMS]


def _first_text(value: Any) -> str:
    """A string, the x-default (or first) of a language alternative, or the first of a list."""
    if isinstance(value, str):
        return "" if value.startswith("type=") else value
    if isinstance(value, dict):
        return str(value.get('lang="x-default"') or next(iter(value.values()), ""))
    if isinstance(value, list | tuple):
        return _first_text(value[0]) if value else ""
    return ""


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [] if value.startswith("type=") else [value]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [str(v) for v in value]


def _pick(bounds: _Bounds, *values: Any) -> str:
    for value in values:
        text = bounds.text(_first_text(value))
        if text:
            return text
    return ""


def _hierarchy(bounds: _Bounds, xmp: Raw) -> tuple[tuple[str, ...], ...]:
    paths: dict[tuple[str, ...], None] = {}
    for key, sep in (("Xmp.lr.hierarchicalSubject", "|"), ("Xmp.digiKam.TagsList", "/")):
        for entry in _list(xmp.get(key)):
            parts = tuple(p for p in (bounds.text(s) for s in entry.split(sep)) if p)
            if len(parts) > MAX_PATH_DEPTH:
                bounds.truncated = True
                parts = parts[:MAX_PATH_DEPTH]
            if parts:
                paths[parts] = None
    if len(paths) > MAX_ITEMS:
        bounds.truncated = True
    return tuple(paths)[:MAX_ITEMS]


def _ratio(value: Any) -> float:
    """An EXIF rational "n/d" (or a plain number)."""
    text = str(value).strip()
    if "/" in text:
        n, d = text.split("/", 1)
        den = float(d)
        return float(n) / den if den else 0.0
    return float(text)


def _degrees(dms: Any, ref: Any, negative: str) -> float:
    parts = [_ratio(p) for p in str(dms).split()]
    value = float(sum(p / 60.0**i for i, p in enumerate(parts[:3])))
    return -value if str(ref).strip().upper().startswith(negative) else value


_XMP_COORD = re.compile(r"^\s*(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*$")


def _xmp_coordinate(value: Any) -> float | None:
    """XMP's GPSCoordinate text: "DDD,MM.mmmmK" or "DDD,MM,SSK" (K: N, S, E or W)."""
    m = _XMP_COORD.match(str(value or ""))
    if m is None:
        return None
    degrees = int(m.group(1)) + float(m.group(2)) / 60 + float(m.group(3) or 0) / 3600
    return -degrees if m.group(4) in "SW" else degrees


def _gps(exif: Raw, xmp: Raw) -> GpsPoint | None:
    lat, lon = exif.get("Exif.GPSInfo.GPSLatitude"), exif.get("Exif.GPSInfo.GPSLongitude")
    if not lat or not lon:
        x_lat = _xmp_coordinate(xmp.get("Xmp.exif.GPSLatitude"))
        x_lon = _xmp_coordinate(xmp.get("Xmp.exif.GPSLongitude"))
        if x_lat is None or x_lon is None or not (-90 <= x_lat <= 90 and -180 <= x_lon <= 180):
            return None
        return GpsPoint(round(x_lat, 7), round(x_lon, 7))
    try:
        latitude = _degrees(lat, exif.get("Exif.GPSInfo.GPSLatitudeRef", "N"), "S")
        longitude = _degrees(lon, exif.get("Exif.GPSInfo.GPSLongitudeRef", "E"), "W")
        altitude = None
        if "Exif.GPSInfo.GPSAltitude" in exif:
            altitude = _ratio(exif["Exif.GPSInfo.GPSAltitude"])
            if str(exif.get("Exif.GPSInfo.GPSAltitudeRef", "0")).strip() == "1":
                altitude = -altitude
    except (ValueError, ZeroDivisionError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return GpsPoint(round(latitude, 7), round(longitude, 7), altitude)


_IPTC_TIME = re.compile(r"\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d)?")  # TimeCreated: HH:MM:SS±HH:MM
# EXIF's time tags, each with the tag of the offset it was taken at (EXIF 2.31)
_EXIF_TIMES = (
    ("Exif.Photo.DateTimeOriginal", "Exif.Photo.OffsetTimeOriginal"),
    ("Exif.Image.DateTimeOriginal", "Exif.Photo.OffsetTimeOriginal"),
    ("Exif.Photo.DateTimeDigitized", "Exif.Photo.OffsetTimeDigitized"),
)


def _captured(exif: Raw, xmp: Raw, iptc: Raw) -> datetime | None:
    """The time written in the file, with the offset written beside it (naive without one: a scan's date
    says nothing of a zone)."""
    for key, offset_key in _EXIF_TIMES:
        if (found := parse_exif_datetime(str(exif.get(key, "")))) is not None:
            return found.replace(tzinfo=exif_offset(str(exif.get(offset_key, ""))))
    for value in (xmp.get("Xmp.photoshop.DateCreated"), xmp.get("Xmp.exif.DateTimeOriginal")):
        if value and (found := _xmp_date(str(value))) is not None:
            return found
    return _iim_date(iptc)


def _partial(captured: datetime | None, xmp: Raw) -> str:
    """The XMP date as written when it names only a year or a month (and is the date read)."""
    written = str(xmp.get("Xmp.photoshop.DateCreated") or xmp.get("Xmp.exif.DateTimeOriginal") or "").strip()
    partial = _YEAR_MONTH.match(written)
    return written if captured is not None and partial and _xmp_date(written) == captured else ""


def _iim_date(iptc: Raw) -> datetime | None:
    date = str(iptc.get("Iptc.Application2.DateCreated", ""))
    time = _IPTC_TIME.match(str(iptc.get("Iptc.Application2.TimeCreated", "")))
    try:
        return datetime.fromisoformat(f"{date}T{time.group()}" if time else date) if date else None
    except ValueError:
        return None


_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d\d))?$")


def _xmp_date(value: str) -> datetime | None:
    """An XMP date (ISO 8601): to the second with its zone, or only "1950" or "1950-06", as a cataloguer
    dates a print: read as its first day (found by its year; it was dropped)."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    if (partial := _YEAR_MONTH.match(value.strip())) is None:
        return None
    try:
        return datetime(int(partial[1]), int(partial[2] or 1), 1)
    except ValueError:
        return None


_ITEM = re.compile(r"^(.*?)\[(\d+)\]/(.*)$")


def _structs(xmp: Raw, prefix: str) -> list[dict[str, Any]]:
    """exiv2 flattens an XMP bag of structs into `prefix[i]/path` keys: back to one dict per item."""
    items: dict[int, dict[str, Any]] = {}
    for key, value in xmp.items():
        if not key.startswith(prefix + "["):
            continue
        m = _ITEM.match(key)
        if m and m.group(1) == prefix:
            index = int(m.group(2))
            if index > MAX_REGIONS * 4:
                continue
            items.setdefault(index, {})[m.group(3)] = value
    return [items[i] for i in sorted(items)]


def _field(item: Mapping[str, Any], suffix: str) -> Any:
    """The value whose path ends with `suffix` (namespace prefixes vary between writers)."""
    for key, value in item.items():
        if key.lower().endswith(suffix.lower()):
            return value
    return None


def _box(x: float, y: float, w: float, h: float) -> BoundingBox | None:
    """Clipped to the image; None for a box with no area inside it."""
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(1.0, x + w), min(1.0, y + h)
    if right <= left or bottom <= top:
        return None
    return BoundingBox(round(left, 6), round(top, 6), round(right - left, 6), round(bottom - top, 6))


def _number(value: Any) -> float:
    return float(_first_text(value) if not isinstance(value, int | float) else value)


def _iptc_regions(bounds: _Bounds, xmp: Raw, width: int, height: int) -> list[ImageRegion]:
    out: list[ImageRegion] = []
    for item in _structs(xmp, "Xmp.iptcExt.ImageRegion"):
        try:
            shape = _first_text(_field(item, ":rbShape")).lower() or "rectangle"
            unit = _first_text(_field(item, ":rbUnit")).lower()
            if shape != "rectangle":
                continue  # circles and polygons: no box to compare with a face
            x, y = _number(_field(item, ":rbX")), _number(_field(item, ":rbY"))
            w, h = _number(_field(item, ":rbW")), _number(_field(item, ":rbH"))
        except (TypeError, ValueError):
            continue
        if unit == "pixel":
            if width <= 0 or height <= 0:
                continue
            x, y, w, h = x / width, y / height, w / width, h / height
        box = _box(x, y, w, h)
        if box is None:
            continue
        ctype = " ".join(_list(_field(item, ":rCtype[1]/xmp:Identifier")))
        kind = ctype.rstrip("/").rsplit("/", 1)[-1].lower() if ctype else ""
        out.append(ImageRegion(box, bounds.text(_first_text(_field(item, ":Name"))), kind, "iptc"))
    return out


def _mwg_regions(bounds: _Bounds, xmp: Raw) -> list[ImageRegion]:
    out: list[ImageRegion] = []
    for item in _structs(xmp, "Xmp.mwg-rs.Regions/mwg-rs:RegionList"):
        try:
            # MWG areas are centred: x, y name the middle of the box.
            cx, cy = _number(_field(item, "Area/stArea:x")), _number(_field(item, "Area/stArea:y"))
            w, h = _number(_field(item, "Area/stArea:w")), _number(_field(item, "Area/stArea:h"))
        except (TypeError, ValueError):
            continue
        box = _box(cx - w / 2, cy - h / 2, w, h)
        if box is None:
            continue
        kind = _first_text(_field(item, "mwg-rs:Type")).lower()
        out.append(ImageRegion(box, bounds.text(_first_text(_field(item, "mwg-rs:Name"))), kind, "mwg"))
    return out


def _same(a: ImageRegion, b: ImageRegion) -> bool:
    close = all(
        abs(x - y) < 0.01
        for x, y in zip(
            (a.box.left, a.box.top, a.box.width, a.box.height),
            (b.box.left, b.box.top, b.box.width, b.box.height),
            strict=True,
        )
    )
    return close and a.name == b.name


def from_exiv2(
    exif: Raw, iptc: Raw, xmp: Raw, *, width: int = 0, height: int = 0, sidecar: bool = False
) -> EmbeddedMetadata:
    """One EmbeddedMetadata from what exiv2 read (width and height: the stored pixel size, for regions
    given in pixels)."""
    b = _Bounds()
    iptc_regions = _iptc_regions(b, xmp, width, height)
    # Writers (ours too) give a named face both as an IPTC region and an MWG one: keep it once.
    regions = iptc_regions + [r for r in _mwg_regions(b, xmp) if not any(_same(r, i) for i in iptc_regions)]
    if len(regions) > MAX_REGIONS:
        b.truncated = True
        regions = regions[:MAX_REGIONS]
    named = [r.name for r in regions if r.name and r.kind in ("face", "person", "human")]
    keywords = _list(xmp.get("Xmp.dc.subject")) or _list(iptc.get("Iptc.Application2.Keywords"))
    creators = _list(xmp.get("Xmp.dc.creator")) or _list(iptc.get("Iptc.Application2.Byline"))
    if not creators and exif.get("Exif.Image.Artist"):
        creators = [str(exif["Exif.Image.Artist"])]
    meta = EmbeddedMetadata(
        title=_pick(b, xmp.get("Xmp.dc.title"), iptc.get("Iptc.Application2.ObjectName")),
        caption=_pick(
            b,
            xmp.get("Xmp.dc.description"),
            iptc.get("Iptc.Application2.Caption"),
            exif.get("Exif.Image.ImageDescription"),
        ),
        keywords=b.items(keywords),
        hierarchy=_hierarchy(b, xmp),
        creators=b.items(creators),
        credit=_pick(b, xmp.get("Xmp.photoshop.Credit"), iptc.get("Iptc.Application2.Credit")),
        copyright=_pick(
            b,
            xmp.get("Xmp.dc.rights"),
            iptc.get("Iptc.Application2.Copyright"),
            exif.get("Exif.Image.Copyright"),
        ),
        usage_terms=_pick(b, xmp.get("Xmp.xmpRights.UsageTerms")),
        city=_pick(b, xmp.get("Xmp.photoshop.City"), iptc.get("Iptc.Application2.City")),
        country=_pick(b, xmp.get("Xmp.photoshop.Country"), iptc.get("Iptc.Application2.CountryName")),
        gps=_gps(exif, xmp),
        persons=b.items([*_list(xmp.get("Xmp.iptcExt.PersonInImage")), *named]),
        regions=tuple(regions),
        # A sidecar's "EXIF" is exiv2's copy of its XMP, the time moved to UTC and its zone lost: its own
        # XMP says when (09:00+08:00 read 01:00).
        captured_at=(captured := _captured({} if sidecar else exif, xmp, iptc)),
        captured_partial=_partial(captured, xmp),
    )
    blocks = (("iptc", iptc), ("xmp", xmp)) if sidecar else (("exif", exif), ("iptc", iptc), ("xmp", xmp))
    sources = [name for name, block in blocks if block]
    if sidecar:
        sources.append("sidecar")
    return replace(meta, sources=tuple(sources), truncated=b.truncated)


def merge(base: EmbeddedMetadata, sidecar: EmbeddedMetadata) -> EmbeddedMetadata:
    """A sidecar .xmp beside the file wins field by field where it says anything (that is what tools that
    write sidecars expect); lists it holds replace the file's."""
    changes: dict[str, Any] = {}
    for name in (
        "title",
        "caption",
        "keywords",
        "hierarchy",
        "creators",
        "credit",
        "copyright",
        "usage_terms",
        "city",
        "country",
        "gps",
        "persons",
        "regions",
        "captured_at",
    ):
        value = getattr(sidecar, name)
        if value:
            changes[name] = value
    if sidecar.captured_at:  # the date and how it was written go together
        changes["captured_partial"] = sidecar.captured_partial
    sources = tuple(dict.fromkeys((*base.sources, *sidecar.sources)))
    return replace(base, **changes, sources=sources, truncated=base.truncated or sidecar.truncated)
