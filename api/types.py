"""GraphQL output types, built from domain objects at the edge."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.context import Context
from api.metadata.embedded_types import EmbeddedMetadata
from api.recognition_types import (
    Face,
    ImageProperties,
    Label,
    LabelSource,
    ModerationLabel,
    TextDetection,
)
from api.run_picking import pick_runs
from api.run_types import RecognitionRun, RunDiff, RunPairs, diff_between
from api.video.video_types import (
    SegmentChangeType,
    SegmentFormat,
    VideoMedia,
    VideoSegment,
    export_segments,
    named_video,
    segments_of,
)
from catalog.domain import model
from catalog.domain.labels.order import top_labels
from catalog.domain.metadata import current_labels, embedded_of, machine_labels, taken_at
from catalog.domain.review.human_labels import human_verdicts, is_human
from catalog.domain.video.findings import VIDEO, VideoFindings
from catalog.domain.video.segment_diff import diff_segments
from catalog.domain.video.segments import segment_of
from services.versions import walk_up

MAX_TREE_NODES = 1000
ORIGINAL = "original"  # the rendition URL kind that serves the original file

DIFFED_ANALYZERS = ("labels", "objects", "faces", "text", "moderation")  # what RunDiff's sections show


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
    orientation: int
    status: AssetStatus
    error: str | None = strawberry.field(description="Why the asset failed, when status is FAILED.")
    parent_id: strawberry.ID | None
    relation: VersionRelation | None
    frame_time: float | None = strawberry.field(
        description="A video's keyframe (a FRAME child its analysis made, one per shot): its second in the "
        "video. Such frames have no analysis of their own and are part of their video: not in search "
        "results, listings by status, assetCounts or an export of everything; they go when the video is "
        "deleted."
    )
    _domain: strawberry.Private[model.Asset]
    _as_of: strawberry.Private[datetime | None] = None  # metadata as the system said it then

    @staticmethod
    def from_domain(asset: model.Asset, as_of: datetime | None = None) -> Asset:
        return Asset(
            id=strawberry.ID(asset.id),
            filename=asset.filename,
            media_type=asset.media_type,
            width=asset.width,
            height=asset.height,
            size_bytes=asset.size_bytes,
            sha256=asset.sha256,
            created_at=asset.created_at,
            orientation=asset.orientation,
            status=AssetStatus(asset.status.value),
            error=asset.error,
            parent_id=strawberry.ID(asset.parent_id) if asset.parent_id else None,
            relation=VersionRelation(asset.relation.value) if asset.relation else None,
            frame_time=asset.frame_time,
            _domain=asset,
            _as_of=as_of,
        )

    @strawberry.field(
        description="Every name these bytes were ingested under, the first (`filename`) first; each is "
        "searchable by its words."
    )
    def filenames(self) -> list[str]:
        return list(self._domain.filenames)

    @strawberry.field(
        description="Uploaded only to teach a custom concept (addConceptExamples with uploads, or "
        "ingestAsset with trainingExample): analysed like any asset, but searches leave it out unless "
        "`filter.trainingExamples` asks for it. Ingesting the same file into the archive clears it."
    )
    def training_example(self) -> bool:
        return self._domain.training_example

    @strawberry.field(
        description="When the picture was taken: its EXIF DateTimeOriginal (a time the camera gave no zone "
        "for reads as UTC, so it shows as recorded), else the date its embedded IPTC/XMP metadata or "
        "sidecar gives. What capturedAfter/capturedBefore filter and sort CAPTURED orders by."
    )
    async def captured_at(self, info: Info[Context, None]) -> datetime | None:
        if self._domain.captured_at is not None:
            return self._domain.captured_at
        return taken_at(self._domain, await self._results(info))

    async def _results(self, info: Info[Context, None]) -> dict[str, model.RecognitionResult]:
        return await info.context.results_at(self._as_of).load(self._domain.id)

    @strawberry.field(
        description="Current labels of the classifier and the object detector, one per concept, under "
        "human review's verdicts (a confirmed or named label at 100, a rejected one left out): most "
        "confident first, but never a parent before a label beneath it (Dog before Mammal). Instances: "
        "boxes from the detector (Person: else faces and bodies)."
    )
    async def labels(
        self,
        info: Info[Context, None],
        min_confidence: Annotated[
            float, strawberry.argument(description="Only labels at least this confident.")
        ] = 0.0,
        source: Annotated[
            LabelSource | None,
            strawberry.argument(
                description="MACHINE: the recognizers' own labels (rejected ones too); HUMAN: review's "
                "verdicts (100 yes, 0 no). Default: the merged current labels."
            ),
        ] = None,
    ) -> list[Label]:
        results = await self._results(info)
        verdicts = human_verdicts(results)
        if source is LabelSource.MACHINE:
            chosen: tuple[model.Label, ...] = machine_labels(results)
        elif source is LabelSource.HUMAN:
            chosen = tuple(sorted(verdicts.values(), key=lambda lb: (-lb.confidence, lb.name)))
        else:
            chosen = current_labels(results)
        human = source is LabelSource.HUMAN
        return [
            Label.from_domain(
                lb, LabelSource.HUMAN if human or is_human(lb, verdicts) else LabelSource.MACHINE
            )
            for lb in chosen
            if lb.confidence >= min_confidence
        ]

    @strawberry.field(
        description="What the image shows, in a few words: the specific labels only (none that is a "
        "parent of another label here), in the order of labels."
    )
    async def top_labels(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="At most 50.")] = 5,
        min_confidence: Annotated[
            float | None,
            strawberry.argument(
                description="Only labels at least this confident. By default 50, except for an asset no "
                "label reaches 50 on: its most confident specific label, whatever its confidence (a rocket "
                "the classifier splits between missile and projectile is still a Missile at 42)."
            ),
        ] = None,
    ) -> list[Label]:
        results = await self._results(info)
        verdicts = human_verdicts(results)
        return [
            Label.from_domain(lb, LabelSource.HUMAN if is_human(lb, verdicts) else LabelSource.MACHINE)
            for lb in top_labels(current_labels(results), min(first, 50), min_confidence)
        ]

    @strawberry.field(description="Faces, with the person each was named as.")
    async def faces(self, info: Info[Context, None]) -> list[Face]:
        results = await self._results(info)
        if "faces" not in results:
            return []
        persons = await info.context.face_persons.load(self.id)
        return [Face.from_domain(i, f, persons.get(i)) for i, f in enumerate(results["faces"].findings.faces)]

    @strawberry.field(description="Text in the image: LINEs, and the WORDs of each line.")
    async def text_detections(self, info: Info[Context, None]) -> list[TextDetection]:
        results = await self._results(info)
        found = results["text"].findings.text if "text" in results else ()
        return [TextDetection.from_domain(t) for t in found]

    @strawberry.field(description="Moderation labels at or above the analyzer's threshold.")
    async def moderation_labels(self, info: Info[Context, None]) -> list[ModerationLabel]:
        results = await self._results(info)
        found = results["moderation"].findings.moderation if "moderation" in results else ()
        return [
            ModerationLabel(name=m.name, confidence=m.confidence, parent_name=m.parent_name) for m in found
        ]

    @strawberry.field(description="Brightness, sharpness, contrast, quality, dominant colors.")
    async def properties(self, info: Info[Context, None]) -> ImageProperties | None:
        results = await self._results(info)
        found = results["properties"].findings.properties if "properties" in results else None
        return ImageProperties.from_domain(found) if found else None

    @strawberry.field(
        description="What the file said about itself (null until read, or without the analyzer)."
    )
    async def embedded_metadata(self, info: Info[Context, None]) -> EmbeddedMetadata | None:
        found = embedded_of(await self._results(info))
        return EmbeddedMetadata.from_domain(found) if found is not None else None

    async def _video(self, info: Info[Context, None]) -> VideoFindings | None:
        """The video's findings with its persons named (None for an image)."""
        return await named_video(
            await self._results(info), lambda: info.context.face_persons.load(self._domain.id)
        )

    @strawberry.field(description="A video's media info (null for an image, or until it is analysed).")
    async def video(self, info: Info[Context, None]) -> VideoMedia | None:
        found = await self._video(info)
        return VideoMedia.from_domain(found) if found is not None else None

    @strawberry.field(description="A video's segments (one per shot), in time order; empty for an image.")
    async def segments(self, info: Info[Context, None]) -> list[VideoSegment]:
        return segments_of(self._domain.id, await self._video(info), None)

    @strawberry.field(
        description="A video's keyframe (a FRAME child): the shot of its video it is from, with what the "
        "video's analysis found in it (the frame has no analysis of its own); null for any other asset."
    )
    async def shot(self, info: Info[Context, None]) -> VideoSegment | None:
        video_id = self._domain.parent_id
        if not self._domain.is_keyframe or video_id is None:
            return None
        ctx = info.context
        video = await named_video(
            await ctx.results_at(self._as_of).load(video_id), lambda: ctx.face_persons.load(video_id)
        )
        found = segment_of(video.segments, self._domain) if video is not None else None
        return VideoSegment.from_domain(found, video_id) if found is not None else None

    @strawberry.field(
        description="A video's segments as text other tools read: WebVTT (chapters or JSON metadata cues), "
        "SRT, CMX 3600 EDL (drop-frame at 29.97 / 59.94) or JSON; null for an image."
    )
    async def segments_export(self, info: Info[Context, None], format: SegmentFormat) -> str | None:
        found = await self._video(info)
        if found is None:
            return None
        try:
            return export_segments(found, format, self._domain.filename)
        except ValueError as exc:  # an EDL holds at most 999 events
            raise GraphQLError(str(exc)) from exc

    @strawberry.field(
        description="Labels gained and lost per time range between two video analyses (defaults: the "
        "current one and the one before it); both runs' shot boundaries are overlaid."
    )
    async def segment_diff(
        self,
        info: Info[Context, None],
        from_run: strawberry.ID | None = None,
        to_run: strawberry.ID | None = None,
        min_confidence: Annotated[
            float, strawberry.argument(description="Labels below this confidence count as absent.")
        ] = 0.0,
    ) -> list[SegmentChangeType]:
        ctx = info.context
        before, after = await pick_runs(
            ctx.services.catalog,
            ctx.tenant_id,
            self._domain.id,
            VIDEO,
            str(from_run) if from_run else None,
            str(to_run) if to_run else None,
            self._as_of,
        )
        old = before.findings.video if before is not None else None
        new = after.findings.video if after is not None else None
        if new is None:
            return []
        changes = diff_segments(
            old.segments if old is not None else (),
            new.segments,
            new.info.rate,
            new.info.drop_frame,
            min_confidence=min_confidence,
        )
        return [SegmentChangeType.from_domain(c) for c in changes]

    @strawberry.field(
        description="Recognition runs, newest first: successful and failed, current and past (as of asOf)."
    )
    async def runs(
        self,
        info: Info[Context, None],
        analyzer: Annotated[str | None, strawberry.argument(description="Only this analyzer's.")] = None,
        first: Annotated[int, strawberry.argument(description="At most 100.")] = 20,
    ) -> list[RecognitionRun]:
        runs = await info.context.runs.load((self._domain.id, analyzer, self._as_of))
        return [RecognitionRun.from_domain(r) for r in runs[: max(1, min(first, 100))]]

    @strawberry.field(
        description="What changed between two runs of an analyzer. Defaults: its current run (as of asOf) "
        "and the successful run before it."
    )
    async def diff(
        self,
        info: Info[Context, None],
        analyzer: Annotated[
            str | None,
            strawberry.argument(
                description="Default: every analyzer (labels, objects, faces, text, moderation); `review` "
                "for the human verdicts of review consensus."
            ),
        ] = None,
        from_run: strawberry.ID | None = None,
        to_run: strawberry.ID | None = None,
        min_delta: Annotated[
            float, strawberry.argument(description="Ignore confidence moves smaller than this (0–100).")
        ] = 0.0,
    ) -> RunDiff:
        ctx = info.context
        named = from_run is not None or to_run is not None
        single = analyzer is not None or named  # else every analyzer the asset ran
        pairs: RunPairs = {}
        for name in [analyzer or "labels"] if single else DIFFED_ANALYZERS:
            before, after = await pick_runs(
                ctx.services.catalog,
                ctx.tenant_id,
                self._domain.id,
                name,  # named runs override it with their own analyzer
                str(from_run) if from_run else None,
                str(to_run) if to_run else None,
                self._as_of,
            )
            found = after or before
            if found is not None or single:
                pairs[found.analyzer if found else name] = (before, after)
        runs = [r for pair in pairs.values() for r in pair if r]
        person_ids = [f.person_id for r in runs for f in r.findings.faces if f.person_id]
        persons = await ctx.services.faces.persons(ctx.tenant_id, person_ids) if person_ids else {}
        return diff_between(pairs, max(0.0, min_delta), persons)

    @strawberry.field(description="The asset this one is a version of.")
    async def parent(self, info: Info[Context, None]) -> Asset | None:
        if self._domain.parent_id is None:
            return None
        found = await info.context.assets.load(self._domain.parent_id)
        return Asset.from_domain(found) if found else None

    @strawberry.field(description="Direct versions of this asset (crops, edits, ...), oldest first.")
    async def children(self, info: Info[Context, None]) -> list[Asset]:
        return [Asset.from_domain(a) for a in await info.context.children.load(self._domain.id)]

    @strawberry.field(description="Parent first, root last.")
    async def ancestors(self, info: Info[Context, None]) -> list[Asset]:
        return [Asset.from_domain(a) for a in await walk_up(info.context.assets.load, self._domain)]

    @strawberry.field(description="The top of this asset's version tree (itself when it has no parent).")
    async def root(self, info: Info[Context, None]) -> Asset:
        chain = await walk_up(info.context.assets.load, self._domain)
        return Asset.from_domain(chain[-1] if chain else self._domain)

    @strawberry.field(
        description="This asset and its descendants, breadth-first, down to `depth` levels "
        f"(the first {MAX_TREE_NODES} nodes)."
    )
    async def version_tree(
        self, info: Info[Context, None], depth: Annotated[int, strawberry.argument(description="1–10.")] = 3
    ) -> list[VersionNode]:
        depth = max(1, min(depth, 10))
        ctx = info.context
        nodes = await ctx.services.versions.tree(ctx.tenant_id, self._domain, depth, limit=MAX_TREE_NODES)
        return [VersionNode(depth=n.depth, asset=Asset.from_domain(n.asset)) for n in nodes]

    @strawberry.field(description="Near-duplicate pictures (perceptual hash): candidates for its parent.")
    async def similar_assets(
        self,
        info: Info[Context, None],
        max_distance: Annotated[int, strawberry.argument(description="Differing bits of 64, 0–16.")] = 8,
        first: Annotated[int, strawberry.argument(description="At most 50.")] = 10,
    ) -> list[SimilarAsset]:
        if self._domain.phash is None:
            return []
        ctx = info.context
        found = await ctx.services.catalog.similar_assets(
            ctx.tenant_id,
            self._domain.phash,
            max_distance=max(0, min(max_distance, 16)),
            limit=min(first, 50) + 1,
        )
        others = [(i, d) for i, d in found if i != self._domain.id][: min(first, 50)]
        assets = await ctx.assets.load_many([i for i, _ in others])
        return [
            SimilarAsset(asset=Asset.from_domain(a), distance=d)
            for (_, d), a in zip(others, assets, strict=True)
            if a is not None
        ]

    def _signed_url(self, ctx: Context, kind: str) -> str:
        expires, sig = ctx.services.signer.sign(ctx.tenant_id, self._domain.id, kind)
        return f"{ctx.base_url}/renditions/{self._domain.id}/{kind}?t={ctx.tenant_id}&e={expires}&s={sig}"

    @strawberry.field(description="Thumbnail (≤256 px) and preview (≤1024 px) with signed URLs.")
    def renditions(self, info: Info[Context, None]) -> list[Rendition]:
        return [
            Rendition(kind=r.kind, url=self._signed_url(info.context, r.kind), width=r.width, height=r.height)
            for r in self._domain.renditions
        ]

    @strawberry.field(
        description="A signed, expiring URL that downloads the original file, byte for byte as ingested."
    )
    def original_url(self, info: Info[Context, None]) -> str:
        return self._signed_url(info.context, ORIGINAL)


@strawberry.type(description="A picture that looks like this one; distance: differing hash bits of 64.")
class SimilarAsset:
    asset: Asset
    distance: int


@strawberry.type(description="One asset of a version tree and its distance from the tree's top.")
class VersionNode:
    depth: int
    asset: Asset


@strawberry.enum
class IngestErrorCode(enum.Enum):
    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TRUNCATED = "truncated"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_LARGE_BYTES = "too_large_bytes"
    CORRUPT = "corrupt"
    INVALID_PARENT = "invalid_parent"
    KEYFRAME_PARENT = strawberry.enum_value(
        "keyframe_parent",
        description="parentId is a video's keyframe (made by its analysis): upload the version to the video.",
    )
    UNREADABLE = "unreadable"
    FILENAME_TOO_LONG = "filename_too_long"
    SIDECAR_TOO_LARGE = "sidecar_too_large"
    NOT_A_VIDEO = "not_a_video"
    NO_VIDEO_STREAM = "no_video_stream"
    UNSUPPORTED_CODEC = "unsupported_codec"
    BAD_FRAME_RATE = "bad_frame_rate"
    TOO_LONG = "too_long"
    TOO_MANY_FRAMES = "too_many_frames"


@strawberry.type
class IngestError:
    code: IngestErrorCode
    message: str


@strawberry.type
class IngestAssetPayload:
    asset: Asset | None
    duplicate: bool = strawberry.field(description="True when the tenant already had these exact bytes.")
    error: IngestError | None = strawberry.field(description="Why the file was rejected; nothing was stored.")
