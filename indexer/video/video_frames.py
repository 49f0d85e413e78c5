"""A video's keyframes as FRAME children in its version tree: one per shot, its best keyframe (the JPEG
written during the decoding pass), registered as an asset of the tenant with its second in the video
(`frame_time`), a preview and a thumbnail. Cheap on purpose: no analysis of its own (the shot's analysis
already looked at it) and no search index document (a search finds the video, with the shot's time range).

Registration is idempotent like ingest: frames are content-addressed, so analysing the video again
registers only frames that changed, and the frames of an earlier analysis that are no longer a shot's
best keyframe are deleted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from catalog.domain.blob_keys import original_key
from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, Rendition, Stage, VersionRelation
from catalog.domain.ports import BlobStore, CatalogStore
from indexer.cpu import CpuPool
from indexer.renditions import RenditionData, renditions
from indexer.video.video_work import Keyframe

log = logging.getLogger(__name__)
IN_FLIGHT = 8  # frames being stored at once


@dataclasses.dataclass(frozen=True)
class _Made:
    width: int
    height: int
    renditions: tuple[RenditionData, ...]


def _read(path: Path) -> tuple[bytes, str]:
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def _make(data: bytes) -> _Made:
    with Image.open(io.BytesIO(data)) as img:
        image = img.convert("RGB")
    return _Made(image.width, image.height, renditions(image).renditions)


def frame_filename(video: Asset, frame: Keyframe) -> str:
    """e.g. interview-shot003.jpg: the video's name and the shot the frame is from."""
    stem = Path(video.filename).stem or "video"
    return f"{stem}-shot{frame.segment + 1:03d}.jpg"


class VideoFrames:
    def __init__(self, catalog: CatalogStore, blobs: BlobStore, cpu: CpuPool) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._cpu = cpu

    async def store(self, video: Asset, frames: Sequence[Keyframe]) -> list[Asset]:
        """The video's FRAME children after this analysis: the frames registered (or found registered),
        and the earlier analysis's frames that are not among them deleted."""
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(frame: Keyframe, asset_id: str) -> Asset | None:
            async with gate:
                return await self._register(video, frame, asset_id)

        ids = [uuid7() for _ in frames]  # minted in shot order: the children list in time order
        kept = [a for a in await asyncio.gather(*map(one, frames, ids)) if a is not None]
        current = {a.id for a in kept}
        children = (await self._catalog.get_children(video.tenant_id, [video.id])).get(video.id, [])
        for stale in [c for c in children if c.is_keyframe and c.id not in current]:
            await self._delete(stale)
        return kept

    async def _register(self, video: Asset, frame: Keyframe, asset_id: str) -> Asset | None:
        data, sha256 = await self._cpu.run(_read, frame.path)
        tenant = video.tenant_id
        existing = await self._catalog.find_asset_by_sha256(tenant, sha256)
        if existing is not None:  # registered by an earlier analysis: nothing to make
            return existing if existing.parent_id == video.id and existing.is_keyframe else None
        made = await self._cpu.run(_make, data)
        now = utcnow()
        asset = Asset(
            id=asset_id,
            tenant_id=tenant,
            sha256=sha256,
            size_bytes=len(data),
            media_type="image/jpeg",
            width=made.width,
            height=made.height,
            filename=frame_filename(video, frame),
            blob_key=original_key(tenant, sha256),
            created_at=now,
            updated_at=now,
            status=Stage.INDEXED,  # nothing to do: no analysis, no index document
            parent_id=video.id,
            relation=VersionRelation.FRAME,
            frame_time=frame.time,
        )
        stored = []
        # Blobs first, then the catalog row (as ingest): a crash in between leaves only unreferenced blobs.
        await self._blobs.put(asset.blob_key, data, "image/jpeg")
        for r in made.renditions:
            key = f"renditions/{tenant}/{asset.id}/{r.kind}.jpg"
            await self._blobs.put(key, r.data, r.media_type)
            stored.append(Rendition(r.kind, key, r.width, r.height, r.media_type))
        registered, created = await self._catalog.register_asset(
            dataclasses.replace(asset, renditions=tuple(stored))
        )
        if not created:  # the same bytes registered meanwhile (another attempt of this analysis)
            for key in (r.blob_key for r in stored):
                await self._blobs.delete(key)
            ours = registered.parent_id == video.id and registered.is_keyframe
            return registered if ours else None
        return registered

    async def _delete(self, frame: Asset) -> None:
        """A frame of an earlier analysis: it has no faces, no index document and no children of its own
        unless someone linked versions under it (then it stays, with them)."""
        if (await self._catalog.get_children(frame.tenant_id, [frame.id])).get(frame.id):
            log.info("keeping frame %s of an earlier analysis: it has versions of its own", frame.id)
            return
        await self._catalog.delete_asset(frame.tenant_id, frame.id)
        for key in (frame.blob_key, *(r.blob_key for r in frame.renditions)):
            await self._blobs.delete(key)
