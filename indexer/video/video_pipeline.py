"""The pipeline's steps for a video asset: copy the original to a local file (streamed, never whole in
memory), analyse it in the CpuPool (shots, keyframe labels and faces, poster, strip; then the proxy),
store the renditions as blobs, each shot's best keyframe as a FRAME child (video_frames) and the segments
as a "video" run. Reprocessing runs the analysis again
as a new run of the batch, so the run history and segment diffs cover videos."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, Findings, RecognitionResult, Rendition, ReprocessBatch
from catalog.domain.model_census import ModelRef
from catalog.domain.ports import BlobStore, CatalogStore
from catalog.domain.video.findings import VIDEO
from indexer.analyzers import AnalyzerChoice, AnalyzerRegistry
from indexer.cpu import CpuPool
from indexer.errors import PermanentError
from indexer.video.errors import VideoRejected
from indexer.video.segment_analysis import SEGMENT_ANALYZERS, SegmentAnalyzer, analyze_segments
from indexer.video.video_frames import VideoFrames
from indexer.video.video_work import VideoOutcome, VideoWork, poster_jpeg

PROXY = "proxy"
PROXY_TYPE = "video/mp4"


def is_video(asset: Asset) -> bool:
    return asset.media_type.startswith("video/")


def rendition_key(asset: Asset, kind: str, ext: str) -> str:
    return f"renditions/{asset.tenant_id}/{asset.id}/{kind}.{ext}"


def segment_choice(tenant: AnalyzerChoice, batch: AnalyzerChoice | None = None) -> AnalyzerChoice:
    """What a video analysis runs: the tenant's analyzers, plus those a reprocess batch asks for (with the
    batch's providers), so a batch of one analyzer does not drop what the others found in the shots."""
    if batch is None:
        return tenant
    names = (*tenant.analyzers, *(a for a in batch.analyzers if a not in tenant.analyzers))
    return dataclasses.replace(tenant, analyzers=names, providers={**tenant.providers, **batch.providers})


def with_person_faces(choice: AnalyzerChoice, video: AnalyzerChoice) -> AnalyzerChoice:
    """The image analyzers to run after a video analysis `video` chose: its local faces run follows the
    persons that analysis found (person-k is face k-1), so it runs again even when not asked for."""
    if "faces" in choice.analyzers or "faces" not in video.analyzers or video.provider_of("faces") != "local":
        return choice
    faces = (*choice.analyzers, "faces")
    return dataclasses.replace(choice, analyzers=faces, providers={**choice.providers, "faces": "local"})


class VideoSteps:
    def __init__(
        self,
        catalog: CatalogStore,
        blobs: BlobStore,
        cpu: CpuPool,
        work: VideoWork,
        analyzers: AnalyzerRegistry | None = None,
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._cpu = cpu
        self._work = work
        self._analyzers = analyzers  # the image analyzers the shots' keyframes see (text, objects, ...)
        self._frames = VideoFrames(catalog, blobs, cpu)

    async def model(self) -> ModelRef:
        """The models a "video" run records: its shots' and its keyframe labeler's (model_census)."""
        return await self._cpu.run(self._work.model)

    async def first_analysis(self, asset: Asset, choice: AnalyzerChoice) -> bytes:
        """Renditions and the first "video" run; returns the poster's preview JPEG (what the image
        analyzers see)."""
        with tempfile.TemporaryDirectory(prefix="mediasight-video-") as tmp:
            source = Path(tmp) / "original"
            await self._blobs.get_file(asset.blob_key, source)
            outcome, run = await self._analyze(asset, source, {}, choice, None, Path(tmp))
            preview = poster_jpeg(outcome)
            if preview is None:
                raise PermanentError("no frame of the video could be decoded for a poster")
            stored = []
            for r in outcome.made:
                key = rendition_key(asset, r.kind, "jpg")
                await self._blobs.put(key, r.data, r.media_type)
                stored.append(Rendition(kind=r.kind, blob_key=key, width=r.width, height=r.height))
            proxy = Path(tmp) / "proxy.mp4"
            try:
                width, height = await self._cpu.run(self._work.proxy, source, proxy)
            except VideoRejected as exc:
                raise PermanentError(str(exc)) from exc
            key = rendition_key(asset, PROXY, "mp4")
            await self._blobs.put_file(key, proxy, PROXY_TYPE)
            stored.append(Rendition(PROXY, key, width, height, PROXY_TYPE))
            await self._frames.store(asset, outcome.frames)
        await self._catalog.set_renditions(asset.tenant_id, asset.id, stored)
        if outcome.phash is not None:
            await self._catalog.set_phash(asset.tenant_id, asset.id, outcome.phash)
        await self._catalog.save_result(asset.tenant_id, run)
        return preview

    async def reanalyze(self, asset: Asset, batch: ReprocessBatch, choice: AnalyzerChoice) -> bool:
        """A new "video" run for the batch (with its parameters); True when its findings changed.
        `choice`: segment_choice of the tenant's and the batch's."""
        with tempfile.TemporaryDirectory(prefix="mediasight-video-") as tmp:
            source = Path(tmp) / "original"
            await self._blobs.get_file(asset.blob_key, source)
            outcome, run = await self._analyze(asset, source, batch.parameters, choice, batch.id, Path(tmp))
            await self._frames.store(asset, outcome.frames)
        change = await self._catalog.save_result(asset.tenant_id, run)
        return bool(change and change.changed)

    async def _analyze(
        self,
        asset: Asset,
        source: Path,
        params: Mapping[str, Mapping[str, object]],
        choice: AnalyzerChoice,
        batch_id: str | None,
        tmp: Path,
    ) -> tuple[VideoOutcome, RecognitionResult]:
        started, t0 = utcnow(), time.perf_counter()
        segment_analyzers = self._segment_analyzers(choice, params)
        stills = tmp / "stills" if segment_analyzers else None
        if stills is not None:
            stills.mkdir()
        frames = tmp / "frames"  # each shot's best keyframe: its FRAME child
        frames.mkdir()
        labels = {**choice.parameters.get("labels", {}), **params.get("labels", {})}  # the batch's win
        try:
            outcome = await self._cpu.run(
                self._work.analyze,
                source,
                labels,
                "faces" in choice.analyzers,
                stills,
                frames,
            )
        except VideoRejected as exc:
            raise PermanentError(str(exc)) from exc
        if segment_analyzers:
            segments = await analyze_segments(
                outcome.findings.segments,
                outcome.stills,
                segment_analyzers,
                self._cpu,
                float(outcome.parameters["min_confidence"]),  # type: ignore[arg-type]
            )
            outcome = dataclasses.replace(
                outcome,
                findings=dataclasses.replace(outcome.findings, segments=segments),
                parameters={
                    **outcome.parameters,
                    "segments": {a.analyzer.name: a.describe() for a in segment_analyzers},
                },
            )
        model = await self.model()
        run = RecognitionResult(
            id=uuid7(),
            asset_id=asset.id,
            analyzer=VIDEO,
            provider=model.provider,
            model_name=model.model_name,
            model_version=model.model_version,
            parameters=dict(outcome.parameters),
            findings=Findings(video=outcome.findings),
            duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            created_at=started,
            finished_at=utcnow(),
            batch_id=batch_id,
        )
        return outcome, run

    def _segment_analyzers(
        self, choice: AnalyzerChoice, params: Mapping[str, Mapping[str, object]]
    ) -> list[SegmentAnalyzer]:
        if self._analyzers is None:
            return []
        names = tuple(a for a in SEGMENT_ANALYZERS if a in choice.analyzers)
        chosen = self._analyzers.select(AnalyzerChoice(names, choice.providers))
        return [SegmentAnalyzer(a, choice.parameters_of(a, params.get(a.name, {}))) for a in chosen]
