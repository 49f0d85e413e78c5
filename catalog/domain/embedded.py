"""Metadata that came with the file (IPTC-IIM, XMP, EXIF, an .xmp sidecar): what humans wrote about the
picture, kept with provenance `embedded` beside what the recognizers found. Pure data and rules, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from catalog.domain.model import BoundingBox

EMBEDDED = "embedded"  # the analyzer name and provenance of these runs

# Bounds on what one file may bring in: hostile or broken files carry millions of keywords or megabytes of
# caption. Past these the rest is dropped (and `truncated` says so); nothing fails.
MAX_TEXT = 4_000  # characters of one text field
MAX_ITEMS = 500  # keywords, hierarchical paths, creators, persons
MAX_REGIONS = 100
MAX_PATH_DEPTH = 12


class MetadataError(Exception):
    """Metadata could not be read or written; the message says why (the picture itself may be fine)."""


class MetadataTimeout(MetadataError):
    pass


@dataclass(frozen=True)
class GpsPoint:
    latitude: float  # degrees, north positive
    longitude: float  # degrees, east positive
    altitude: float | None = None  # metres above sea level


@dataclass(frozen=True)
class ImageRegion:
    """A region someone drew on the picture (IPTC Image Region, MWG-RS): a face, a person, an object."""

    box: BoundingBox  # ratios of the upright image, top-left origin (as every box here)
    name: str = ""  # who or what it shows
    kind: str = ""  # "face", "person", "object", ... (MWG Type or the IPTC region content type's last word)
    source: str = ""  # "iptc" | "mwg"


@dataclass(frozen=True)
class EmbeddedMetadata:
    title: str = ""
    caption: str = ""
    keywords: tuple[str, ...] = ()  # flat (dc:subject, IPTC Keywords)
    hierarchy: tuple[
        tuple[str, ...], ...
    ] = ()  # keyword paths, root first (lr:hierarchicalSubject, TagsList)
    creators: tuple[str, ...] = ()
    credit: str = ""
    copyright: str = ""
    usage_terms: str = ""
    city: str = ""
    country: str = ""
    gps: GpsPoint | None = None
    persons: tuple[str, ...] = ()  # persons shown (Iptc4xmpExt:PersonInImage, named face/person regions)
    regions: tuple[ImageRegion, ...] = ()
    captured_at: datetime | None = None
    # "1950" or "1950-06": the date as written when the file gives only its year or month (captured_at is
    # then its first day, which exports and pages must not pass off as the date)
    captured_partial: str = ""
    sources: tuple[str, ...] = ()  # which blocks held any of it: "exif", "iptc", "xmp", "sidecar"
    truncated: bool = False  # something was over a bound and was cut
    problem: str = ""  # why the metadata could not be read (the picture itself is still indexed)

    @property
    def captured_text(self) -> str:
        """When, as exports write it: "1950" as the file had it, else ISO 8601 with the zone if any."""
        if self.captured_at is None:
            return ""
        return self.captured_partial or self.captured_at.isoformat()

    @property
    def empty(self) -> bool:
        return not (
            self.title
            or self.caption
            or self.keywords
            or self.hierarchy
            or self.creators
            or self.credit
            or self.copyright
            or self.usage_terms
            or self.city
            or self.country
            or self.gps
            or self.persons
            or self.regions
            or self.captured_at
        )

    def all_keywords(self) -> tuple[str, ...]:
        """Flat keywords and every level of the hierarchical ones, each once (case-insensitive)."""
        seen: dict[str, str] = {}
        for word in (*self.keywords, *(w for path in self.hierarchy for w in path)):
            seen.setdefault(word.casefold(), word)
        return tuple(seen.values())

    def words(self) -> str:
        """What a text search should find the asset by: title, caption, keywords, places, credits."""
        parts = [
            self.title,
            self.caption,
            ", ".join(self.all_keywords()),
            ", ".join(self.persons),
            self.city,
            self.country,
            ", ".join(self.creators),
            self.credit,
        ]
        return "\n".join(p for p in parts if p)


FACE_KINDS = frozenset({"face", "person", "human", ""})


def person_regions(meta: EmbeddedMetadata) -> list[ImageRegion]:
    """Named regions that stand for a person (MWG faces, IPTC human regions, untyped named ones)."""
    return [r for r in meta.regions if r.name and r.kind.lower() in FACE_KINDS]


def _overlap(face: BoundingBox, region: BoundingBox) -> tuple[float, float]:
    """(share of the face inside the region, IoU)."""
    w = min(face.left + face.width, region.left + region.width) - max(face.left, region.left)
    h = min(face.top + face.height, region.top + region.height) - max(face.top, region.top)
    if w <= 0 or h <= 0:
        return 0.0, 0.0
    inter = w * h
    face_area = face.width * face.height
    union = face_area + region.width * region.height - inter
    return (inter / face_area if face_area > 0 else 0.0), (inter / union if union > 0 else 0.0)


# A detected face belongs to a drawn region when at least this share of it lies inside: people draw person
# regions larger than a detector's face box (a head and shoulders, a whole body).
FACE_INSIDE_REGION = 0.5


def name_faces(faces: Sequence[BoundingBox], regions: Sequence[ImageRegion]) -> dict[int, str]:
    """Which detected face (by index) each named person region names: one-to-one, the pair with the
    highest IoU first, among pairs where most of the face lies inside the region."""
    ranked = sorted(
        (
            (iou, fi, ri)
            for fi, face in enumerate(faces)
            for ri, region in enumerate(regions)
            if region.name
            for inside, iou in [_overlap(face, region.box)]
            if inside >= FACE_INSIDE_REGION
        ),
        reverse=True,
    )
    named: dict[int, str] = {}
    used: set[int] = set()
    for _, fi, ri in ranked:
        if fi in named or ri in used:
            continue
        named[fi] = regions[ri].name
        used.add(ri)
    return named
