"""Exports in GraphQL: `exportAssets` answers, per asset, a signed URL of the file (made when fetched)."""

from __future__ import annotations

import enum
import json
from typing import Annotated
from urllib.parse import quote

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.auth import CanRead
from api.context import Context
from services.export_formats import FIELDS
from services.exports import ANNOTATION_MEDIA_TYPE, MAX_EXPORT_IDS, ExportError, record_json
from services.exports import ExportFormat as DomainFormat


@strawberry.enum(description="What an export holds.")
class ExportFormat(enum.Enum):
    XMP = strawberry.enum_value("xmp", description="An .xmp sidecar: IPTC Core and Extension, regions.")
    IMAGE = strawberry.enum_value(
        "image", description="A copy of the original with the metadata embedded (XMP and IPTC-IIM)."
    )
    JSON = strawberry.enum_value("json", description="The asset's metadata as JSON (content holds it too).")
    ANNOTATIONS = strawberry.enum_value(
        "annotations",
        description="Its regions as W3C Web Annotations: an AnnotationPage (JSON-LD) IIIF viewers show.",
    )


@strawberry.type(description="One asset's export: fetch the URL (signed, it expires like rendition URLs).")
class AssetExport:
    asset_id: strawberry.ID
    filename: str
    media_type: str
    url: str
    content: str | None = strawberry.field(description="The JSON itself, for format JSON.")


def export_path(asset_id: str, fmt: str) -> str:
    return f"/exports/{asset_id}/{fmt}"


def export_kind(fmt: str, profile: str = "") -> str:
    """What the URL's signature covers besides tenant and asset (renditions sign their kind the same way)."""
    return f"export-{fmt}" + (f"|{profile}" if profile else "")


@strawberry.type
class ExportQuery:
    @strawberry.field(
        permission_classes=[CanRead],
        description=f"Exports of up to {MAX_EXPORT_IDS} of your assets, in the order asked. The original is "
        "never modified: IMAGE is a copy. Errors carry extensions.code: NOT_FOUND, TOO_MANY.",
    )
    async def export_assets(
        self,
        info: Info[Context, None],
        ids: list[strawberry.ID],
        format: Annotated[ExportFormat, strawberry.argument(description="XMP, IMAGE, JSON or ANNOTATIONS.")],
        profile: Annotated[
            str | None, strawberry.argument(description="An export profile of yours (exportProfiles).")
        ] = None,
    ) -> list[AssetExport]:
        ctx = info.context
        fmt = DomainFormat[format.name]
        exports = ctx.services.exports
        try:
            chosen = await exports.profile(ctx.tenant_id, profile)
            records = await exports.records(ctx.tenant_id, [str(i) for i in ids], chosen)
        except ExportError as exc:
            raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc
        out = []
        for r in records:
            kind = export_kind(fmt.value, profile or "")
            expires, sig = ctx.services.signer.sign(ctx.tenant_id, r.asset_id, kind)
            url = f"{ctx.base_url}{export_path(r.asset_id, fmt.value)}?t={ctx.tenant_id}&e={expires}&s={sig}"
            if profile:
                url += f"&p={quote(profile)}"
            name, media = {
                DomainFormat.XMP: (r.filename + ".xmp", "application/rdf+xml"),
                DomainFormat.IMAGE: (r.filename, r.media_type),
                DomainFormat.JSON: (r.filename + ".json", "application/json"),
                DomainFormat.ANNOTATIONS: (r.filename + ".annotations.json", ANNOTATION_MEDIA_TYPE),
            }[fmt]
            content = json.dumps(record_json(r), ensure_ascii=False) if fmt == DomainFormat.JSON else None
            out.append(
                AssetExport(
                    asset_id=strawberry.ID(r.asset_id),
                    filename=name,
                    media_type=media,
                    url=url,
                    content=content,
                )
            )
        return out


@strawberry.input(description="One CSV column: which field, under which header.")
class CsvColumn:
    field: str = strawberry.field(description=f"One of: {', '.join(FIELDS)}.")
    header: str = ""


@strawberry.type
class CsvExportQuery:
    @strawberry.field(
        permission_classes=[CanRead],
        description=f"Up to {MAX_EXPORT_IDS} of your assets as CSV, one row each, with your column mapping "
        "(default: assetId, filename, title, caption, keywords, persons, labels; lists joined by '; '). "
        "Errors carry extensions.code: NOT_FOUND, TOO_MANY, BAD_COLUMNS.",
    )
    async def export_csv(
        self,
        info: Info[Context, None],
        ids: list[strawberry.ID],
        columns: list[CsvColumn] | None = None,
        profile: Annotated[
            str | None, strawberry.argument(description="Its columns (unless given) and filters.")
        ] = None,
    ) -> str:
        ctx = info.context
        mapping = [(c.field, c.header) for c in columns or []]
        try:
            return await ctx.services.exports.csv(ctx.tenant_id, [str(i) for i in ids], mapping, profile)
        except ExportError as exc:
            raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc
