"""The per-asset state machine: stored → renditions → analyzed → indexed.

Each step is idempotent and persists its stage before the next starts, so a process killed at any point
resumes from the last finished step. The original is decoded once, for the renditions. Every analyzer sees
the preview as stored, decoded from its JPEG bytes (AnalysisInput.picture): at ingest, after a restart and
when reprocessing alike, so the same model, version and parameters on the same asset give the same findings
(analysing the in-memory image at ingest and the JPEG later moved confidences by ~0.6 points and made a
same-model reprocess report changes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from PIL import Image

from catalog.domain.model import Asset, Rendition, ReprocessBatch, Stage
from catalog.domain.ports import BlobStore, CatalogStore, FaceCollection, IndexDocument, SearchIndex
from indexer.analysis_runs import AnalysisRuns
from indexer.analyzers import AnalyzerChoice, AnalyzerRegistry
from indexer.cpu import CpuPool
from indexer.errors import PermanentError
from indexer.fresh_originals import FreshOriginals
from indexer.index_documents import IndexDocuments
from indexer.recognizers.ports import AnalysisInput, TextEmbedder, decode_picture
from indexer.renditions import PREVIEW_MAX, PREVIEW_MIN, Rendered, decode, renditions
from indexer.video.segment_analysis import SEGMENT_ANALYZERS
from indexer.video.video_pipeline import VideoSteps, is_video, segment_choice, with_person_faces
from services.reprocessing.requests import batch_choice
from services.reprocessing.server_models import ServerModels

if TYPE_CHECKING:
    from indexer.video.video_work import VideoWork

log = logging.getLogger(__name__)
VIDEO_ANALYZERS = {"labels", "faces", *SEGMENT_ANALYZERS}  # a reprocess of these analyses a video's shots


class NotReadyError(Exception):
    """The job came too early (its asset is still in the pipeline): retried later like any failure."""


def rendition_key(asset: Asset, kind: str) -> str:
    return f"renditions/{asset.tenant_id}/{asset.id}/{kind}.jpg"


def decode_and_render(
    data: bytes, sides: frozenset[int], max_pixels: int
) -> tuple[Rendered, dict[int, Image.Image]]:
    """A probed original's renditions with the perceptual hash, and the preview's pictures the analyzers
    will read (by min_side), decoded from its JPEG bytes as AnalysisInput.picture would: one hop of the
    pool, not one per picture, and the same pixels as a later reprocess sees. Blocking CPU work."""
    # The original was probed at ingest and is content-addressed: its bytes are the ones that passed.
    image = decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN, max_pixels=max_pixels, probed=True)
    rendered = renditions(image)
    return rendered, {side: decode_picture(rendered.preview.data, side) for side in sides}


class Pipeline:
    def __init__(
        self,
        catalog: CatalogStore,
        blobs: BlobStore,
        index: SearchIndex,
        faces: FaceCollection,
        cpu: CpuPool,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
        embedder: TextEmbedder | None,
        *,
        max_pixels: int,
        video: VideoWork | None = None,
        after_indexed: Callable[[str, str], Awaitable[object]] | None = None,
        fresh: FreshOriginals | None = None,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._index = index
        self._cpu = cpu
        self._choose = choose
        self._max_pixels = max_pixels
        self._after_indexed = after_indexed  # e.g. the tenant's review rules on the new asset
        self._fresh = fresh or FreshOriginals()
        self._documents = IndexDocuments(catalog, faces)
        self._analyzers = analyzers
        self._runs = AnalysisRuns(catalog, faces, cpu, analyzers, choose, embedder, self._documents)
        self._videos = VideoSteps(catalog, blobs, cpu, video, analyzers) if video is not None else None

    async def process(self, tenant_id: str, asset_id: str, *, retry: bool = False) -> Stage | None:
        """Advance the asset to INDEXED; returns the final stage, or None if the asset no longer exists.
        `retry`: an earlier attempt of this job may have saved some of the analysis (AnalysisRuns)."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            return None
        item: AnalysisInput | None = None
        stored: asyncio.Future[None] | None = None  # the renditions' write, while the models run
        if asset.status == Stage.STORED:
            if is_video(asset):
                item = await self._video_renditions(asset)
                asset = await self._advance(asset, Stage.RENDITIONS)
            else:
                item, stored = await self._make_renditions(asset)
                asset = dataclasses.replace(asset, status=Stage.RENDITIONS, error=None)
        if asset.status == Stage.RENDITIONS:
            if item is None:  # resumed after a restart: the preview is a faithful, cheap source
                item = await self._input_from_preview(asset)
            try:  # the stage goes with the analysis's last write (its runs, or its embedding)
                await self._runs.analyze(asset, item, stage=Stage.ANALYZED, after=stored, retry=retry)
            except BaseException:
                if stored is not None:  # kept if it worked: a retry starts from the renditions
                    await asyncio.gather(stored, return_exceptions=True)
                raise
            asset = dataclasses.replace(asset, status=Stage.ANALYZED, error=None)
        if asset.status == Stage.ANALYZED:
            await self.reindex(asset)
            asset = await self._advance(asset, Stage.INDEXED)
            await self._catch_up(asset)
            await self._hook(asset)
        return asset.status

    async def _catch_up(self, indexed: Asset) -> None:
        """Index again what an ingest changed while this copy of the asset went through the pipeline: the
        same bytes under another name, or a training example that joined the archive. Such an ingest queues
        a refresh only once the asset is INDEXED (services.ingest), so a change before that is seen here."""
        now = await self._catalog.get_asset(indexed.tenant_id, indexed.id)
        if now is not None and (now.other_filenames, now.training_example) != (
            indexed.other_filenames,
            indexed.training_example,
        ):
            await self.refresh(indexed.tenant_id, indexed.id)

    async def _hook(self, asset: Asset) -> None:
        """The after-indexing hook; its failure is logged, never the asset's (it is indexed). Not for a
        training example: review rules ask about the archive, and the uploader named what it shows."""
        if self._after_indexed is None or asset.training_example:
            return
        try:
            await self._after_indexed(asset.tenant_id, asset.id)
        except Exception:
            log.exception("after-indexing hook failed for asset %s", asset.id)

    async def refresh(self, tenant_id: str, asset_id: str) -> bool:
        """After metadata changed outside the pipeline (a face named): embed and index again; False when
        the asset is not indexed (yet, or any more)."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None or asset.status != Stage.INDEXED:
            return False  # an unfinished asset picks the change up when it reaches those steps
        if asset.is_keyframe:
            return False  # a video's keyframe has no metadata of its own to embed or index
        await self._catalog.mark_changed(tenant_id, [asset_id])  # a name is current metadata too
        await self._runs.embed(asset)
        await self.reindex(asset)
        return True

    async def reprocess(
        self, tenant_id: str, asset_id: str, batch: ReprocessBatch, *, retry: bool = False
    ) -> bool:
        """Analyze an indexed asset again as the batch asks (from its preview); True if anything changed.
        `retry` as in process."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            raise PermanentError("the asset was deleted")
        if asset.status == Stage.FAILED:
            raise PermanentError(f"the asset failed processing and has nothing to reprocess: {asset.error}")
        if asset.status != Stage.INDEXED:
            raise NotReadyError("the asset is still being processed; its reprocessing waits for it")
        if asset.is_keyframe:
            return False  # a video's keyframe is analysed with its shot (reprocess the video)
        item = await self._input_from_preview(asset)
        tenant_choice = await self._choose(tenant_id)
        choice = batch_choice(tenant_choice, batch)
        if batch.outdated_only:
            choice = await self._outdated_of(asset, choice)
        changed = False
        if not choice.analyzers:  # brought up to date since the batch was made: nothing to run
            await self.reindex(asset)
            return False
        if is_video(asset) and set(choice.analyzers) & VIDEO_ANALYZERS:  # what its segments hold
            video_choice = segment_choice(tenant_choice, choice)
            changed = await self._video_steps().reanalyze(asset, batch, video_choice)
            choice = with_person_faces(choice, video_choice)
        changed = (
            await self._runs.analyze(
                asset, item, params=batch.parameters, choice=choice, batch_id=batch.id, retry=retry
            )
            or changed
        )
        # Always: an earlier attempt may have saved changed runs and then failed before re-indexing.
        await self.reindex(asset)
        return changed

    async def _outdated_of(self, asset: Asset, choice: AnalyzerChoice) -> AnalyzerChoice:
        """Of the choice, the analyzers whose current run on this asset another model made (a batch of
        reprocess(outdated)): an asset outdated in its labels only does not run its faces and text again."""
        video = self._videos.model if self._videos is not None else None
        server = ServerModels(self._catalog, self._analyzers, video=video, embedder=self._runs.embedder)
        return await server.outdated_of(asset, choice)

    async def reindex(self, asset: Asset) -> None:
        """Write the asset's index document from the catalog (the truth): idempotent. A video's keyframe
        has none (a search finds the video)."""
        if asset.is_keyframe:
            await self._index.delete(asset.tenant_id, asset.id)
            return
        await self._index.upsert((await self.expected_documents([asset]))[0])

    async def expected_documents(self, assets: Sequence[Asset]) -> list[IndexDocument]:
        """The index documents the catalog (the truth) makes now, of the assets that have one (of any
        tenants; a video's keyframes have none), with a few batched catalog reads per tenant."""
        return await self._documents.of([a for a in assets if not a.is_keyframe])

    async def _advance(self, asset: Asset, stage: Stage) -> Asset:
        await self._catalog.set_stage(asset.tenant_id, asset.id, stage)
        return dataclasses.replace(asset, status=stage, error=None)

    async def _make_renditions(self, asset: Asset) -> tuple[AnalysisInput, asyncio.Future[None]]:
        """The analyzers' input, and the write of the renditions (blobs, then their hash and the stage in
        one catalog write) already under way: the models need not wait for the disk, and the analysis
        writes nothing before it is done (`after`)."""
        data = self._fresh.take(asset.blob_key) or await self._blobs.get(asset.blob_key)
        sides = self._analyzers.picture_sides(await self._choose(asset.tenant_id))
        rendered, pictures = await self._cpu.run(decode_and_render, data, sides, self._max_pixels)
        item = AnalysisInput(
            jpeg=rendered.preview.data,
            original_key=asset.blob_key,
            original_size=(asset.width, asset.height),
            pictures=pictures,
        )
        return item, asyncio.ensure_future(self._store_renditions(asset, rendered))

    async def _store_renditions(self, asset: Asset, rendered: Rendered) -> None:
        stored = [
            Rendition(r.kind, rendition_key(asset, r.kind), r.width, r.height) for r in rendered.renditions
        ]
        await self._blobs.put_many(
            [(s.blob_key, r.data, "image/jpeg") for s, r in zip(stored, rendered.renditions, strict=True)]
        )
        await self._catalog.set_renditions(
            asset.tenant_id, asset.id, stored, phash=rendered.phash, stage=Stage.RENDITIONS
        )

    def _video_steps(self) -> VideoSteps:
        if self._videos is None:
            raise PermanentError("this process was started without video analysis")
        return self._videos

    async def _video_renditions(self, asset: Asset) -> AnalysisInput:
        """A video's renditions and its segment analysis (one decoding pass); the image analyzers then see
        its poster."""
        preview = await self._video_steps().first_analysis(asset, await self._choose(asset.tenant_id))
        return AnalysisInput(
            jpeg=preview,
            original_key=asset.blob_key,
            original_size=(asset.width, asset.height),
        )

    async def _input_from_preview(self, asset: Asset) -> AnalysisInput:
        preview = next((r for r in asset.renditions if r.kind == "preview"), None)
        if preview is None:
            raise PermanentError("the asset has no preview rendition to analyze")
        data = await self._blobs.get(preview.blob_key)
        return AnalysisInput(
            jpeg=data,
            original_key=asset.blob_key,
            original_size=(asset.width, asset.height),
        )
