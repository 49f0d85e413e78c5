"""Registering assets: hash, sniff, dedupe, store the original unmodified, register it with its pipeline
job."""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.domain.blob_keys import original_key, sidecar_key
from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, ImageInfo, Stage, VersionRelation
from catalog.domain.ports import AssetRegistration, AssetStore, BlobStore, CatalogStore, JobQueue
from indexer.cpu import CpuPool
from indexer.fresh_originals import FreshOriginals
from indexer.ingest_examine import HEAD_BYTES, Examined, examine, hash_and_probe_video, read_file
from indexer.video.errors import VideoRejected
from indexer.video.sniff import is_video

log = logging.getLogger(__name__)

PROCESS_JOB = "process"  # advance an asset through the pipeline to INDEXED
REFRESH_JOB = "refresh"  # re-embed and re-index an indexed asset whose metadata changed (e.g. a face named)
MAX_FILENAME = 255
# control, format (bidi overrides, zero-width), surrogate, private-use and unassigned characters
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SPACES = frozenset("\t\n\r\v\f")  # control characters that separate words: a space


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # "new" | "duplicate" | "rejected"
    asset: Asset | None = None
    error: str | None = None
    code: str | None = None


def clean_filename(name: str) -> str:
    """A safe display name: the last path component (NFC), without control or format characters (bidi
    overrides such as U+202E, zero-width characters), each run of whitespace one space, never `.` or
    `..`, at most MAX_FILENAME characters (the API refuses longer names; other sources are cut)."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        " " if c in _SPACES or unicodedata.category(c) == "Zs" else c
        for c in base
        if c in _SPACES or unicodedata.category(c) not in _HIDDEN
    )
    base = " ".join(kept.split())
    if not base.strip("."):
        return "unnamed"
    return base[:MAX_FILENAME]


MAX_SIDECAR_BYTES = 4 << 20


def _unreadable(exc: OSError) -> IngestOutcome:
    return IngestOutcome("rejected", error=f"cannot read file: {exc.strerror or exc}", code="unreadable")


def _spill(data: bytes) -> Path:
    """Bytes to a private temporary file (PyAV probes files); the caller deletes it."""
    fd, name = tempfile.mkstemp(prefix="mediasight-ingest-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(name)


class RegisterThenEnqueue:
    """A new asset and its job where the catalog and the queue are two stores (DynamoDB and SQS, or any
    mix): two writes, the row first (see catalog.domain.ports.AssetRegistration)."""

    def __init__(self, assets: AssetStore, queue: JobQueue) -> None:
        self._assets = assets
        self._queue = queue

    async def register_queued(self, asset: Asset, kind: str) -> tuple[Asset, bool]:
        registered, created = await self._assets.register_asset(asset)
        if created:
            await self._queue.enqueue(kind, registered.tenant_id, registered.id)
        return registered, created


# (tenant, asset) whose sidecar changed: its embedded metadata must be read again (bootstrap: a reprocess)
SidecarChanged = Callable[[str, str], Awaitable[object]]


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
        max_video_bytes: int | None = None,
        on_new_sidecar: SidecarChanged | None = None,
        registration: AssetRegistration | None = None,
        fresh: FreshOriginals | None = None,
    ) -> None:
        self._on_new_sidecar = on_new_sidecar
        self._fresh = fresh or FreshOriginals()  # a worker in this process takes them from here
        self._registration = registration or RegisterThenEnqueue(catalog, queue)
        self._catalog = catalog
        self._blobs = blobs
        self._queue = queue
        self._cpu = cpu
        self._max_pixels = max_pixels
        self._max_bytes = max_bytes
        # videos stream from a file to storage, so they may be far larger than an image read whole
        self._max_video_bytes = max_video_bytes or max_bytes

    async def _sidecar_is_new(self, asset: Asset, sidecar: bytes) -> bool:
        try:
            return await self._blobs.get(sidecar_key(asset.blob_key)) != sidecar
        except FileNotFoundError:
            return True

    async def ingest(
        self,
        tenant_id: str,
        data: bytes,
        filename: str,
        *,
        parent_id: str | None = None,
        relation: VersionRelation | None = None,
        size_bytes: int | None = None,
        sidecar: bytes | None = None,
        training_example: bool = False,
    ) -> IngestOutcome:
        """Register `data` as an asset and queue it (an upload may pass only its first max_bytes + 1
        bytes, with its real size); `sidecar`: an .xmp file that came beside it (its fields win over the
        file's own when the metadata is read). `training_example`: uploaded only to teach a concept (hidden
        from search unless asked for); the same bytes ingested without it join the archive."""
        video = is_video(data[:HEAD_BYTES])
        refused = await self._refusal(tenant_id, len(data), size_bytes, parent_id, sidecar, video)
        if refused is not None:
            return refused
        if video:
            path = await self._cpu.run(_spill, data)
            try:
                return await self._ingest_video(
                    tenant_id, path, filename, parent_id, relation, sidecar, training_example
                )
            finally:
                path.unlink(missing_ok=True)
        # ahead of queued decodes: an upload waits on it, and the pipeline is fed by it
        examined = await self._cpu.run_first(examine, data, self._max_pixels)
        return await self._ingest_image(
            tenant_id, data, examined, filename, parent_id, relation, sidecar, training_example
        )

    async def ingest_file(
        self,
        tenant_id: str,
        path: Path,
        filename: str,
        *,
        parent_id: str | None = None,
        relation: VersionRelation | None = None,
        sidecar: bytes | None = None,
        training_example: bool = False,
    ) -> IngestOutcome:
        """As ingest, from a file: a video is hashed, probed and stored streaming (S3 multipart), never
        read whole into memory; an image is read once, hashed and probed in the same step (it is decoded
        whole anyway)."""
        try:
            read = await self._cpu.run_first(
                read_file, path, max_bytes=self._max_bytes, max_pixels=self._max_pixels
            )
        except OSError as exc:  # only the file's own errors: a catalog that is down must raise (retry)
            return _unreadable(exc)
        refused = await self._refusal(tenant_id, read.size, None, parent_id, sidecar, read.video)
        if refused is not None:
            return refused
        if read.data is None or read.examined is None:  # a video: not read whole
            return await self._ingest_video(
                tenant_id, path, filename, parent_id, relation, sidecar, training_example
            )
        async with self._fresh.room(len(read.data)):  # a folder is read far faster than it is analysed
            return await self._ingest_image(
                tenant_id, read.data, read.examined, filename, parent_id, relation, sidecar, training_example
            )

    async def _ingest_image(
        self,
        tenant_id: str,
        data: bytes,
        examined: Examined,
        filename: str,
        parent_id: str | None,
        relation: VersionRelation | None,
        sidecar: bytes | None,
        training_example: bool,
    ) -> IngestOutcome:
        info = examined.info
        if info is None:
            refusal = examined.rejected
            assert refusal is not None
            return IngestOutcome("rejected", error=str(refusal), code=refusal.code)

        async def store(key: str) -> None:
            await self._blobs.put(key, data, info.media_type)
            self._fresh.keep(key, data)  # before the job exists: its worker may claim it at once

        return await self._register(
            tenant_id,
            examined.sha256,
            info,
            len(data),
            filename,
            parent_id,
            relation,
            sidecar,
            store,
            training_example,
        )

    async def _ingest_video(
        self,
        tenant_id: str,
        path: Path,
        filename: str,
        parent_id: str | None,
        relation: VersionRelation | None,
        sidecar: bytes | None,
        training_example: bool,
    ) -> IngestOutcome:
        try:
            sha256, info, size = await self._cpu.run(hash_and_probe_video, path)
        except VideoRejected as exc:
            return IngestOutcome("rejected", error=str(exc), code=exc.code)

        async def store(key: str) -> None:
            await self._blobs.put_file(key, path, info.media_type)

        return await self._register(
            tenant_id, sha256, info, size, filename, parent_id, relation, sidecar, store, training_example
        )

    async def _refusal(
        self,
        tenant_id: str,
        length: int,
        size_bytes: int | None,
        parent_id: str | None,
        sidecar: bytes | None,
        video: bool,
    ) -> IngestOutcome | None:
        """Why the file is refused before its content is looked at (None: it is not)."""
        parent = await self._catalog.get_asset(tenant_id, parent_id) if parent_id is not None else None
        if parent_id is not None and parent is None:
            return IngestOutcome(
                "rejected",
                error=f"no asset {parent_id} in your tenant to be the parent",
                code="invalid_parent",
            )
        if parent is not None and parent.is_keyframe:  # every caller's (CLI, upload, GraphQL)
            from services.versions import keyframe_refusal  # it imports this module's job kinds

            return IngestOutcome(
                "rejected", error=str(keyframe_refusal(parent, as_parent=True)), code="keyframe_parent"
            )
        limit = self._max_video_bytes if video else self._max_bytes
        if length > limit or (size_bytes or 0) > limit:
            size = max(length, size_bytes or 0)
            setting = "MEDIASIGHT_MAX_VIDEO_BYTES" if video else "MEDIASIGHT_MAX_UPLOAD_BYTES"
            return IngestOutcome(
                "rejected",
                error=f"file is {size:,} bytes, over the limit of {limit:,} bytes "
                f"(raise {setting} to accept it)",
                code="too_large_bytes",
            )
        if sidecar is not None and len(sidecar) > MAX_SIDECAR_BYTES:
            return IngestOutcome(
                "rejected",
                error=f"its .xmp sidecar is {len(sidecar)} bytes, over {MAX_SIDECAR_BYTES} bytes: "
                "trim the sidecar, or move it away to ingest the file without it",
                code="sidecar_too_large",
            )
        return None

    async def _register(
        self,
        tenant_id: str,
        sha256: str,
        info: ImageInfo,
        size: int,
        filename: str,
        parent_id: str | None,
        relation: VersionRelation | None,
        sidecar: bytes | None,
        store: Callable[[str], Awaitable[None]],
        training_example: bool = False,
    ) -> IngestOutcome:
        now = utcnow()
        candidate = Asset(
            id=uuid7(),
            tenant_id=tenant_id,
            sha256=sha256,
            size_bytes=size,
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
            training_example=training_example,
        )
        existing = await self._catalog.find_asset_by_sha256(tenant_id, sha256)
        if existing is None:
            # Blobs first, then the catalog row: a crash in between leaves only unreferenced blobs.
            if sidecar is not None:
                await self._blobs.put(sidecar_key(candidate.blob_key), sidecar, "application/rdf+xml")
            await store(candidate.blob_key)
            # The row and its job: one transaction where the stores share one (see AssetRegistration).
            existing, created = await self._registration.register_queued(candidate, PROCESS_JOB)
            if created:
                # DEBUG: the CLI shows a progress bar and a summary; a line per file would drown them
                log.debug("registered asset %s (%s, %s)", existing.id, existing.filename, existing.media_type)
                return IngestOutcome("new", asset=existing)
        if sidecar is not None and await self._sidecar_is_new(existing, sidecar):
            # The same bytes with an edited sidecar: keep it, and read the metadata again (an indexed asset;
            # one still in the pipeline reads the new sidecar anyway).
            await self._blobs.put(sidecar_key(existing.blob_key), sidecar, "application/rdf+xml")
            if existing.status == Stage.INDEXED and self._on_new_sidecar is not None:
                await self._on_new_sidecar(tenant_id, existing.id)
        changed = False
        # A training example ingested into the archive: it is an asset of the archive from now on.
        joins = existing.training_example and not training_example
        if joins and await self._catalog.join_archive(tenant_id, existing.id):
            existing = dataclasses.replace(existing, training_example=False)
            changed = True
        name = clean_filename(filename)
        if name != existing.filename and await self._catalog.add_filename(tenant_id, existing.id, name):
            # Another name for the same bytes: kept, and searchable once the index document is refreshed.
            existing = dataclasses.replace(existing, other_filenames=(*existing.other_filenames, name))
            changed = True
        if changed:
            # The stage as it is now, after the change: an asset indexed meanwhile is refreshed; one still
            # in the pipeline sees the change when it is indexed (Pipeline._catch_up).
            current = await self._catalog.get_asset(tenant_id, existing.id)
            if current is not None and current.status == Stage.INDEXED:
                await self._queue.enqueue(REFRESH_JOB, tenant_id, existing.id)
        if existing.status not in (Stage.INDEXED, Stage.FAILED):
            # Where registering and queueing are two writes, a crash between them must not strand the
            # asset: enqueue is idempotent.
            await self._queue.enqueue(PROCESS_JOB, tenant_id, existing.id)
        return IngestOutcome("duplicate", asset=existing)
