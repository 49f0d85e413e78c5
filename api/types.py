"""GraphQL output types, built from domain objects at the edge."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from catalog import model


@strawberry.enum(description="Where an asset stands in the pipeline.")
class AssetStatus(enum.Enum):
    STORED = "stored"
    RENDITIONS = "renditions"
    ANALYZED = "analyzed"
    INDEXED = "indexed"
    FAILED = "failed"


@strawberry.enum(description="How a version derives from its parent.")
class VersionRelation(enum.Enum):
    CROP = "crop"
    EDIT = "edit"
    RESIZE = "resize"
    FORMAT = "format"
    FRAME = "frame"
    OTHER = "other"


@strawberry.type(description="A recognized label, in the shape of Rekognition's DetectLabels.")
class Label:
    name: str
    confidence: float = strawberry.field(description="0–100.")
    parents: list[str] = strawberry.field(description="Hypernyms, nearest first (a breed: Dog, ..., Animal).")

    @staticmethod
    def from_domain(label: model.Label) -> Label:
        return Label(name=label.name, confidence=label.confidence, parents=list(label.parents))


@strawberry.type(description="A derived image. The URL is signed and expires; it works in an <img> tag.")
class Rendition:
    kind: str
    url: str
    width: int
    height: int


@strawberry.type(description="The model that produced a result.")
class ModelInfo:
    name: str
    version: str


@strawberry.type(description="One registered image.")
class Asset:
    id: strawberry.ID
    filename: str
    media_type: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    created_at: datetime
    captured_at: datetime | None
    orientation: int
    status: AssetStatus
    error: str | None = strawberry.field(description="Why the asset failed, when status is FAILED.")
    parent_id: strawberry.ID | None
    relation: VersionRelation | None
    _domain: strawberry.Private[model.Asset]

    @staticmethod
    def from_domain(asset: model.Asset) -> Asset:
        return Asset(
            id=strawberry.ID(asset.id),
            filename=asset.filename,
            media_type=asset.media_type,
            width=asset.width,
            height=asset.height,
            size_bytes=asset.size_bytes,
            sha256=asset.sha256,
            created_at=asset.created_at,
            captured_at=asset.captured_at,
            orientation=asset.orientation,
            status=AssetStatus(asset.status.value),
            error=asset.error,
            parent_id=strawberry.ID(asset.parent_id) if asset.parent_id else None,
            relation=VersionRelation(asset.relation.value) if asset.relation else None,
            _domain=asset,
        )

    @strawberry.field(description="Current labels, most confident first.")
    async def labels(
        self,
        info: Info[Context, None],
        min_confidence: Annotated[
            float, strawberry.argument(description="Only labels at least this confident.")
        ] = 0.0,
    ) -> list[Label]:
        labels = await info.context.labels.load(self.id)
        ordered = sorted(labels, key=lambda lb: -lb.confidence)
        return [Label.from_domain(lb) for lb in ordered if lb.confidence >= min_confidence]

    @strawberry.field(description="Thumbnail (≤256 px) and preview (≤1024 px) with signed URLs.")
    def renditions(self, info: Info[Context, None]) -> list[Rendition]:
        ctx = info.context
        out = []
        for r in self._domain.renditions:
            expires, sig = ctx.services.signer.sign(ctx.tenant_id, self._domain.id, r.kind)
            url = (
                f"{ctx.base_url}/renditions/{self._domain.id}/{r.kind}?t={ctx.tenant_id}&e={expires}&s={sig}"
            )
            out.append(Rendition(kind=r.kind, url=url, width=r.width, height=r.height))
        return out


@strawberry.type
class LabelMatch:
    label: str = strawberry.field(description="The asset's label that matched.")
    confidence: float
    via: str = strawberry.field(description="The name the query asked for (the label itself or a parent).")


@strawberry.type
class SearchEdge:
    cursor: str
    score: float
    matches: list[LabelMatch]
    node: Asset


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class FacetValue:
    value: str
    count: int


@strawberry.type
class SearchFacets:
    labels: list[FacetValue]


@strawberry.type
class SearchConnection:
    total_count: int
    edges: list[SearchEdge]
    page_info: PageInfo
    facets: SearchFacets


@strawberry.input(description="Narrows a search. Label names match the label itself or any parent, any case.")
class SearchFilter:
    labels: list[str] | None = strawberry.UNSET
    min_confidence: float | None = strawberry.field(
        default=strawberry.UNSET, description="A label must be at least this confident (0–100) to match."
    )


@strawberry.enum
class IngestErrorCode(enum.Enum):
    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TRUNCATED = "truncated"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_LARGE_BYTES = "too_large_bytes"
    CORRUPT = "corrupt"


@strawberry.type
class IngestError:
    code: IngestErrorCode
    message: str


@strawberry.type
class IngestAssetPayload:
    asset: Asset | None
    duplicate: bool = strawberry.field(description="True when the tenant already had these exact bytes.")
    error: IngestError | None = strawberry.field(description="Why the file was rejected; nothing was stored.")
