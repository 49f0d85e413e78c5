"""Registering assets: hash, sniff, dedupe, store the original unmodified, enqueue the pipeline job."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from catalog.domain.blob_keys import original_key, sidecar_key
from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, ImageInfo, Stage, VersionRelation
from catalog.domain.ports import BlobStore, CatalogStore, JobQueue
from indexer.cpu import CpuPool
from indexer.image_errors import ImageRejected
from indexer.imaging import probe

log = logging.getLogger(__name__)

PROCESS_JOB = "process"  # advance an asset through the pipeline to INDEXED
REFRESH_JOB = "refresh"  # re-embed and re-index an indexed asset whose metadata changed (e.g. a face named)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # "new" | "duplicate" | "rejected"
    asset: Asset | None = None
    error: str | None = None
    code: str | None = None


def clean_filename(name: str) -> str:
    """The last path component, without control characters, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("", base).strip() or "unnamed"
    return base[:255]


MAX_SIDECAR_BYTES = 4 << 20


def _hash_and_probe(data: bytes, max_pixels: int) -> tuple[str, ImageInfo]:
    info = probe(data, max_pixels=max_pixels)
    return hashlib.sha256(data).hexdigest(), info


class Ingestor:
    def __init__(
        self,
        catalog: CatalogStore,
        blobs: BlobStore,
        queue: JobQueue,
        cpu: CpuPool,
        *,
        max_pixels: int,
        max_bytes: int,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._queue = queue
        self._cpu = cpu
        self._max_pixels = max_pixels
        self._max_bytes = max_bytes

    async def ingest(
        self,
        tenant_id: str,
        data: bytes,
        filename: str,
        *,
        parent_id: str | None = None,
        relation: VersionRelation | None = None,
        sidecar: bytes | None = None,
    ) -> IngestOutcome:
        """Register the file as an asset and queue it; `sidecar`: an .xmp file that came beside it (its
        fields win over the file's own when the metadata is read)."""
        if parent_id is not None and await self._catalog.get_asset(tenant_id, parent_id) is None:
            return IngestOutcome(
                "rejected",
                error=f"no asset {parent_id} in your tenant to be the parent",
                code="invalid_parent",
            )
        if len(data) > self._max_bytes:
            return IngestOutcome(
                "rejected",
                error=f"file is {len(data)} bytes, over the limit of {self._max_bytes} bytes "
                "(raise MEDIASIGHT_MAX_UPLOAD_BYTES to accept it)",
                code="too_large_bytes",
            )
        if sidecar is not None and len(sidecar) > MAX_SIDECAR_BYTES:
            return IngestOutcome(
                "rejected",
                error=f"its .xmp sidecar is {len(sidecar)} bytes, over {MAX_SIDECAR_BYTES} bytes: "
                "trim the sidecar, or move it away to ingest the file without it",
                code="sidecar_too_large",
            )
        try:
            sha256, info = await self._cpu.run(_hash_and_probe, data, self._max_pixels)
        except ImageRejected as exc:
            return IngestOutcome("rejected", error=str(exc), code=exc.code)
        now = utcnow()
        candidate = Asset(
            id=uuid7(),
            tenant_id=tenant_id,
            sha256=sha256,
            size_bytes=len(data),
            media_type=info.media_type,
            width=info.width,
            height=info.height,
            filename=clean_filename(filename),
            blob_key=original_key(tenant_id, sha256),
            created_at=now,
            updated_at=now,
            status=Stage.STORED,
            orientation=info.orientation,
            captured_at=info.captured_at,
            parent_id=parent_id,
            relation=relation,
        )
        existing = await self._catalog.find_asset_by_sha256(tenant_id, sha256)
        if existing is None:
            # Blobs first, then the catalog row: a crash in between leaves only unreferenced blobs.
            if sidecar is not None:
                await self._blobs.put(sidecar_key(candidate.blob_key), sidecar, "application/rdf+xml")
            await self._blobs.put(candidate.blob_key, data, info.media_type)
            existing, created = await self._catalog.register_asset(candidate)
            if created:
                await self._queue.enqueue(PROCESS_JOB, tenant_id, existing.id)
                log.info("registered asset %s (%s, %s)", existing.id, existing.filename, existing.media_type)
                return IngestOutcome("new", asset=existing)
        if existing.status not in (Stage.INDEXED, Stage.FAILED):
            # A crash between register and enqueue must not strand the asset: enqueue is idempotent.
            await self._queue.enqueue(PROCESS_JOB, tenant_id, existing.id)
        return IngestOutcome("duplicate", asset=existing)
