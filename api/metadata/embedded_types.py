"""GraphQL types of the metadata that came with the file (provenance `embedded`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.recognition_types import BoundingBox
from catalog.domain import embedded as domain


@strawberry.type(description="A GPS position written in the file.")
class GpsPoint:
    latitude: float
    longitude: float
    altitude: float | None = strawberry.field(description="Metres above sea level.")


@strawberry.type(description="A region someone drew on the picture (IPTC Image Region or MWG-RS).")
class ImageRegion:
    bounding_box: BoundingBox
    name: str = strawberry.field(description="Who or what the region shows.")
    kind: str = strawberry.field(description="face, human, object, ... as the file says (may be empty).")
    source: str = strawberry.field(description="iptc or mwg: the standard the region came in.")


@strawberry.type(
    description="What the file said about itself (IPTC-IIM, XMP, EXIF, an .xmp sidecar ingested with it): "
    "written by people, kept apart from what the recognizers found."
)
class EmbeddedMetadata:
    title: str
    caption: str
    keywords: list[str] = strawberry.field(description="Flat keywords (dc:subject, IPTC Keywords).")
    hierarchical_keywords: list[list[str]] = strawberry.field(
        description="Keyword paths, root first (lr:hierarchicalSubject, digiKam TagsList)."
    )
    creators: list[str]
    credit: str
    copyright: str
    usage_terms: str
    city: str
    country: str
    gps: GpsPoint | None
    persons: list[str] = strawberry.field(description="Persons shown, as the file names them.")
    regions: list[ImageRegion]
    captured_at: datetime | None
    captured_as_written: str = strawberry.field(
        description='The date as the file writes it when it gives only a year or a month ("1950", '
        '"1950-06"; capturedAt is then its first day); empty otherwise.'
    )
    sources: list[str] = strawberry.field(description="Where it was found: exif, iptc, xmp, sidecar.")
    truncated: bool = strawberry.field(description="Something was over a size bound and was cut.")
    problem: str = strawberry.field(description="Why the metadata could not be read (empty when it was).")

    @staticmethod
    def from_domain(m: domain.EmbeddedMetadata) -> EmbeddedMetadata:
        gps = m.gps
        return EmbeddedMetadata(
            title=m.title,
            caption=m.caption,
            keywords=list(m.keywords),
            hierarchical_keywords=[list(p) for p in m.hierarchy],
            creators=list(m.creators),
            credit=m.credit,
            copyright=m.copyright,
            usage_terms=m.usage_terms,
            city=m.city,
            country=m.country,
            gps=GpsPoint(latitude=gps.latitude, longitude=gps.longitude, altitude=gps.altitude)
            if gps
            else None,
            persons=list(m.persons),
            regions=[
                ImageRegion(
                    bounding_box=BoundingBox.from_domain(r.box), name=r.name, kind=r.kind, source=r.source
                )
                for r in m.regions
            ],
            captured_at=m.captured_at,
            captured_as_written=m.captured_partial,
            sources=list(m.sources),
            truncated=m.truncated,
            problem=m.problem,
        )
