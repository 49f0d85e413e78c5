"""Exports of an asset's metadata that other tools read: an XMP sidecar, a copy of the image with the metadata
embedded (never the original), or JSON. Tenant-scoped; the writing itself is an adapter (exiv2)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from catalog.domain.embedded import MetadataError
from catalog.domain.export_profile import MAX_PROFILES, ExportProfile, apply_profile
from catalog.domain.export_record import ExportRecord, export_record
from catalog.domain.field_names import UnknownLanguage, check_language, translated_keys
from catalog.domain.model import FaceRef
from catalog.domain.ports import BlobStore, CatalogStore, FaceCollection
from indexer.cpu import CpuPool
from services.export_formats import ColumnError, columns_of, csv_text, web_annotations

ANNOTATION_MEDIA_TYPE = 'application/ld+json;profile="http://www.w3.org/ns/anno.jsonld"'
MAX_EXPORT_IDS = 100  # assets per request (a whole tenant or search is a background export)


class ExportFormat(enum.StrEnum):
    XMP = "xmp"  # an .xmp sidecar
    IMAGE = "image"  # a copy of the original with the metadata embedded
    JSON = "json"
    ANNOTATIONS = "annotations"  # W3C Web Annotations of the boxes (an IIIF-ready AnnotationPage)


class ExportError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class MetadataWriter(Protocol):
    """Blocking: run in the CPU pool."""

    def sidecar(self, record: ExportRecord) -> bytes: ...
    def embed(self, original: bytes, record: ExportRecord) -> bytes: ...


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    data: bytes


class ExportService:
    def __init__(
        self,
        catalog: CatalogStore,
        blobs: BlobStore,
        faces: FaceCollection,
        writer: MetadataWriter,
        cpu: CpuPool,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._faces = faces
        self._writer = writer
        self._cpu = cpu

    async def profiles(self, tenant_id: str) -> tuple[ExportProfile, ...]:
        tenant = await self._catalog.get_tenant(tenant_id)
        return tenant.config.export_profiles if tenant else ()

    async def profile(self, tenant_id: str, name: str | None) -> ExportProfile | None:
        if name is None:
            return None
        found = next((p for p in await self.profiles(tenant_id) if p.name == name), None)
        if found is None:
            raise ExportError("NO_SUCH_PROFILE", f"no export profile {name!r} in your tenant")
        return found

    async def save_profile(self, tenant_id: str, profile: ExportProfile) -> ExportProfile:
        """Create or replace a profile by name (its columns checked)."""
        name = " ".join(profile.name.split())
        if not 1 <= len(name) <= 64:
            raise ExportError("BAD_PROFILE", "a profile's name has 1–64 characters")
        if not 0 <= profile.min_confidence <= 100:
            raise ExportError("BAD_PROFILE", "minConfidence is 0–100")
        try:
            check_language(profile.language)
        except UnknownLanguage as exc:
            raise ExportError("BAD_PROFILE", str(exc)) from exc
        try:
            columns_of(profile.columns)
        except ColumnError as exc:
            raise ExportError("BAD_COLUMNS", str(exc)) from exc
        tenant = await self._catalog.get_tenant(tenant_id)
        assert tenant is not None
        kept = [p for p in tenant.config.export_profiles if p.name != name]
        if len(kept) >= MAX_PROFILES:
            raise ExportError("TOO_MANY", f"a tenant has at most {MAX_PROFILES} export profiles")
        saved = dataclasses.replace(profile, name=name)
        config = dataclasses.replace(tenant.config, export_profiles=(*kept, saved))
        await self._catalog.set_tenant_config(tenant_id, config)
        return saved

    async def delete_profile(self, tenant_id: str, name: str) -> None:
        tenant = await self._catalog.get_tenant(tenant_id)
        assert tenant is not None
        kept = tuple(p for p in tenant.config.export_profiles if p.name != name)
        if len(kept) == len(tenant.config.export_profiles):
            raise ExportError("NO_SUCH_PROFILE", f"no export profile {name!r} in your tenant")
        await self._catalog.set_tenant_config(
            tenant_id, dataclasses.replace(tenant.config, export_profiles=kept)
        )

    async def describe(self, tenant_id: str, asset_id: str, profile: str) -> dict[str, Any] | None:
        """An asset's metadata as JSON through a profile (webhook payloads); None if it is gone."""
        chosen = await self.profile(tenant_id, profile)
        if not asset_id:
            return None
        try:
            (record,) = await self.records(tenant_id, [asset_id], chosen)
        except ExportError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise
        return record_json(record)

    async def records(
        self, tenant_id: str, asset_ids: Sequence[str], profile: ExportProfile | None = None
    ) -> list[ExportRecord]:
        """The export records of the tenant's assets, in the order asked (NOT_FOUND for one not there),
        with a profile's filters applied."""
        if len(asset_ids) > MAX_EXPORT_IDS:
            raise ExportError("TOO_MANY", f"export at most {MAX_EXPORT_IDS} assets per request")
        ids = list(dict.fromkeys(asset_ids))
        assets = await self._catalog.get_assets(tenant_id, ids)
        missing = [i for i in ids if i not in assets]
        if missing:
            raise ExportError("NOT_FOUND", f"no asset {missing[0]} in your tenant")
        results = await self._catalog.get_results(tenant_id, ids)
        linked = await self._faces.face_persons(tenant_id, ids)
        persons = await self._faces.persons(tenant_id, list(dict.fromkeys(linked.values())))
        out = []
        for asset_id in ids:
            found = results.get(asset_id, {})
            faces = found["faces"].findings.faces if "faces" in found else ()
            names = [
                persons[p].name if (p := linked.get(FaceRef(asset_id, i))) in persons else None
                for i in range(len(faces))
            ]
            out.append(apply_profile(export_record(assets[asset_id], found, names), profile))
        return out

    async def export(
        self, tenant_id: str, asset_id: str, fmt: ExportFormat, profile: str | None = None
    ) -> ExportFile:
        (record,) = await self.records(tenant_id, [asset_id], await self.profile(tenant_id, profile))
        return await self.file(tenant_id, record, fmt)

    async def file(self, tenant_id: str, record: ExportRecord, fmt: ExportFormat) -> ExportFile:
        try:
            return await self._file(tenant_id, record, fmt)
        except MetadataError as exc:
            raise ExportError(
                "WRITE_FAILED", f"the export of {record.asset_id} could not be written: {exc}"
            ) from exc

    async def _file(self, tenant_id: str, record: ExportRecord, fmt: ExportFormat) -> ExportFile:
        if fmt == ExportFormat.XMP:
            data = await self._cpu.run(self._writer.sidecar, record)
            return ExportFile(record.filename + ".xmp", "application/rdf+xml", data)
        if fmt == ExportFormat.IMAGE:
            asset = await self._catalog.get_asset(tenant_id, record.asset_id)
            assert asset is not None
            original = await self._blobs.get(asset.blob_key)
            data = await self._cpu.run(self._writer.embed, original, record)
            return ExportFile(record.filename, asset.media_type, data)
        if fmt == ExportFormat.ANNOTATIONS:
            page = web_annotations(record, canvas_uri(record.asset_id))
            text = json.dumps(page, ensure_ascii=False, indent=2)
            return ExportFile(record.filename + ".annotations.json", ANNOTATION_MEDIA_TYPE, text.encode())
        text = json.dumps(record_json(record), ensure_ascii=False, indent=2)
        return ExportFile(record.filename + ".json", "application/json", text.encode())

    async def csv(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        columns: Sequence[tuple[str, str]],
        profile: str | None = None,
    ) -> str:
        """One CSV of the assets, `columns` (or else the profile's) mapping fields to headers."""
        chosen = await self.profile(tenant_id, profile)
        columns = columns or (chosen.columns if chosen else ())
        try:
            columns_of(columns)
        except ColumnError as exc:
            raise ExportError("BAD_COLUMNS", str(exc)) from exc
        return csv_text(await self.records(tenant_id, asset_ids, chosen), columns)


def canvas_uri(asset_id: str) -> str:
    """What annotations target: the asset, by a URN a IIIF manifest's canvas can take as its id."""
    return f"urn:mediasight:asset:{asset_id}"


def record_json(r: ExportRecord) -> dict[str, Any]:
    """An export record as JSON, with GraphQL's field names (or their names in the profile's language)."""
    shaped: dict[str, Any] = translated_keys(_record_json(r), r.field_language)
    return shaped


def _record_json(r: ExportRecord) -> dict[str, Any]:
    m = r.embedded

    def box(b: Any) -> dict[str, float]:
        return {"left": b.left, "top": b.top, "width": b.width, "height": b.height}

    return {
        "assetId": r.asset_id,
        "filename": r.filename,
        "mediaType": r.media_type,
        "width": r.width,
        "height": r.height,
        "embeddedMetadata": {
            "title": m.title,
            "caption": m.caption,
            "keywords": list(m.keywords),
            "hierarchicalKeywords": [list(p) for p in m.hierarchy],
            "creators": list(m.creators),
            "credit": m.credit,
            "copyright": m.copyright,
            "usageTerms": m.usage_terms,
            "city": m.city,
            "country": m.country,
            "gps": {"latitude": m.gps.latitude, "longitude": m.gps.longitude} if m.gps else None,
            "persons": list(m.persons),
            "regions": [{"name": x.name, "kind": x.kind, "boundingBox": box(x.box)} for x in m.regions],
            "capturedAt": m.captured_text or None,
        },
        "labels": [
            {"name": k.name, "confidence": k.confidence, "parents": list(k.parents), "model": k.model}
            for k in r.keywords
        ],
        "regions": [
            {
                "kind": x.kind,
                "name": x.name,
                "confidence": x.confidence,
                "boundingBox": box(x.box),
                "model": x.model,
                "modelVersion": x.model_version,
            }
            for x in r.regions
        ],
        "persons": list(r.persons()),
    }
