"""Domain model: frozen dataclasses, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.domain.embedded import EmbeddedMetadata
    from catalog.domain.export_profile import ExportProfile
    from catalog.domain.video.findings import VideoFindings


class Stage(enum.StrEnum):
    """Where an asset stands in the durable pipeline (stored → renditions → analyzed → indexed)."""

    STORED = "stored"
    RENDITIONS = "renditions"
    ANALYZED = "analyzed"
    INDEXED = "indexed"
    FAILED = "failed"


class VersionRelation(enum.StrEnum):
    CROP = "crop"
    EDIT = "edit"
    RESIZE = "resize"
    FORMAT = "format"
    FRAME = "frame"
    OTHER = "other"


@dataclass(frozen=True)
class TenantConfig:
    """A tenant's overrides of the server's analyzer settings (None / absent: the server default)."""

    analyzers: tuple[str, ...] | None = None
    providers: dict[str, str] = field(default_factory=dict)
    synonyms: tuple[tuple[str, ...], ...] = ()  # groups of label names that mean the same to this tenant
    export_profiles: tuple[ExportProfile, ...] = ()  # named export mappings (catalog.domain.export_profile)
    # analyzer -> setting -> value, over the analyzers' defaults (a reprocess batch's own parameters win)
    parameters: dict[str, dict[str, float | int | str | bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime
    config: TenantConfig = field(default_factory=TenantConfig)


class Scope(enum.StrEnum):
    READ = "read"  # queries
    WRITE = "write"  # ingest, versions, naming faces, deletes
    ADMIN = "admin"  # keys of the tenant
    REVIEW = "review"  # a reviewer: its task queue and those tasks' images only (services.reviewers)


ALL_SCOPES = (Scope.READ, Scope.WRITE, Scope.ADMIN)


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant_id: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    scopes: tuple[Scope, ...] = ALL_SCOPES
    name: str = ""


@dataclass(frozen=True)
class BoundingBox:
    """As Rekognition gives it: ratios of the image's width and height, top-left origin."""

    left: float
    top: float
    width: float
    height: float

    def iou(self, other: BoundingBox) -> float:
        """Intersection over union with another box (0 when they do not overlap)."""
        w = min(self.left + self.width, other.left + other.width) - max(self.left, other.left)
        h = min(self.top + self.height, other.top + other.height) - max(self.top, other.top)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.width * self.height + other.width * other.height - inter)


@dataclass(frozen=True)
class Instance:
    """One located occurrence of a label (e.g. a Person box)."""

    box: BoundingBox
    confidence: float


@dataclass(frozen=True)
class Label:
    """One label in the shape of Rekognition's DetectLabels: name, confidence 0–100, parent names, and
    where it is when a detector located it (instances, most confident first)."""

    name: str
    confidence: float
    parents: tuple[str, ...] = ()
    instances: tuple[Instance, ...] = ()


@dataclass(frozen=True)
class Rendition:
    kind: str  # "thumbnail" | "preview"
    blob_key: str
    width: int
    height: int
    media_type: str = "image/jpeg"


@dataclass(frozen=True)
class ImageInfo:
    """What the bytes say about themselves, read from the header without decoding pixels.

    width and height are the upright (display) size: EXIF orientation is already accounted for.
    """

    media_type: str
    width: int
    height: int
    orientation: int = 1
    captured_at: datetime | None = None


@dataclass(frozen=True)
class Asset:
    id: str
    tenant_id: str
    sha256: str
    size_bytes: int
    media_type: str
    width: int
    height: int
    filename: str
    blob_key: str
    created_at: datetime
    updated_at: datetime
    status: Stage = Stage.STORED
    error: str | None = None
    orientation: int = 1
    captured_at: datetime | None = None
    parent_id: str | None = None
    relation: VersionRelation | None = None
    renditions: tuple[Rendition, ...] = ()
    phash: str | None = None  # 64-bit difference hash of the picture (16 hex digits): near-duplicates
    # other names the same bytes were ingested under, oldest first (`filename` is the first name)
    other_filenames: tuple[str, ...] = ()
    # uploaded only to teach a custom concept: indexed apart, hidden from search unless asked for
    training_example: bool = False
    # a keyframe a video's analysis registered as its FRAME child: its second in the video (else None)
    frame_time: float | None = None

    @property
    def is_keyframe(self) -> bool:
        """A video's keyframe, made by its analysis: no analysis of its own, no search index document."""
        return self.frame_time is not None

    @property
    def in_archive(self) -> bool:
        """One of the archive's assets: what an archivist lists, counts and exports, and what a concept is
        run over and suggests from; not a training example uploaded to teach a concept, nor a video's
        keyframe (part of its video, as its renditions are)."""
        return not self.training_example and not self.is_keyframe

    @property
    def filenames(self) -> tuple[str, ...]:
        return (self.filename, *self.other_filenames)


@dataclass(frozen=True)
class Landmark:
    type: str  # e.g. "eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight" (Rekognition's names)
    x: float  # ratio of image width
    y: float  # ratio of image height


@dataclass(frozen=True)
class Face:
    box: BoundingBox
    confidence: float  # 0–100
    landmarks: tuple[Landmark, ...] = ()
    embedding: tuple[float, ...] = ()  # identity vector (dlib: 128-d, same person < 0.6 euclidean)
    person_id: str | None = None
    face_id: str = ""  # its FaceId in the tenant's Rekognition collection ("" when matched by embedding)
    time: float | None = None  # a video's face: the second of the keyframe it was seen best in (box: there)


@dataclass(frozen=True)
class TextDetection:
    text: str
    confidence: float  # 0–100
    type: str  # "LINE" | "WORD"
    box: BoundingBox
    parent_index: int | None = None  # for a WORD: index of its LINE in the same list


@dataclass(frozen=True)
class ModerationLabel:
    name: str  # Rekognition's taxonomy names, e.g. "Explicit Nudity", "Suggestive"
    confidence: float  # 0–100
    parent_name: str = ""


@dataclass(frozen=True)
class DominantColor:
    red: int
    green: int
    blue: int
    hex: str
    pixel_percent: float  # 0–100


@dataclass(frozen=True)
class ImageProperties:
    brightness: float  # 0–100
    sharpness: float  # 0–100
    contrast: float  # 0–100
    quality: float  # 0–100, higher is better
    dominant_colors: tuple[DominantColor, ...] = ()
    # The tone (catalog.domain.tone), None where not measured (older results, Rekognition's): the share
    # (%) of pixels with a colour of their own, not the image's tone at their lightness; how tinted it is
    # (median CIELAB chroma).
    off_tone_percent: float | None = None
    median_chroma: float | None = None


@dataclass(frozen=True)
class FeatureVector:
    """An image's feature vector (a classifier's pooled penultimate layer) as float16 little-endian bytes,
    with the model (and version) that made it: vectors of different models are not comparable."""

    model: str
    data: bytes

    @property
    def dim(self) -> int:
        return len(self.data) // 2


@dataclass(frozen=True)
class Findings:
    """What an analyzer saw. Each analyzer fills only its own field (labels: labels; faces: faces; ...)."""

    labels: tuple[Label, ...] = ()
    faces: tuple[Face, ...] = ()
    people: tuple[Instance, ...] = ()
    text: tuple[TextDetection, ...] = ()
    moderation: tuple[ModerationLabel, ...] = ()
    properties: ImageProperties | None = None
    embedding: tuple[float, ...] = ()
    embedded: EmbeddedMetadata | None = None  # the "embedded" analyzer: metadata that came with the file
    video: VideoFindings | None = None  # the "video" analyzer: media info and segments (one per shot)
    # the labels model's features from the same pass: stored apart (FeatureStore), never in the run
    features: FeatureVector | None = None


class RunStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class RunChange:
    """How a run's findings differ from the run it replaced as current (None: there was none)."""

    previous_run_id: str | None
    previous_model_version: str | None
    changed: bool  # the findings differ at all
    gained: tuple[str, ...] = ()  # label (or moderation) names added
    lost: tuple[str, ...] = ()  # and removed
    top_before: str | None = None  # highest-confidence label before and after
    top_after: str | None = None


@dataclass(frozen=True)
class RecognitionResult:
    """One immutable run of one analyzer on one asset, with the provider and model that produced it.

    An asset's current metadata is its latest successful run per analyzer; older runs stay readable.
    """

    asset_id: str
    analyzer: str
    model_name: str
    model_version: str
    findings: Findings
    provider: str = "local"
    parameters: dict[str, object] = field(default_factory=dict)
    duration_ms: float = 0.0
    created_at: datetime | None = None  # when the run started
    id: str = ""  # run ID (UUIDv7: sorts by start time); empty only before it is saved
    finished_at: datetime | None = None
    status: RunStatus = RunStatus.SUCCEEDED
    error: str = ""
    batch_id: str | None = None  # the reprocessing batch that asked for it
    change: RunChange | None = None


class BatchStatus(enum.StrEnum):
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"


@dataclass(frozen=True)
class ReprocessBatch:
    """A tracked reprocessing of a set of assets with chosen analyzers, provider and parameters.

    PREPARING until every job is in the queue (a filter batch first resolves its filter into items: its
    total is 0 until then); FAILED when it could not be prepared (`error` says why); then RUNNING until each
    item is done or failed.
    """

    id: str
    tenant_id: str
    analyzers: tuple[str, ...]  # empty: the tenant's configured analyzers
    provider: str | None  # None: each analyzer's configured provider
    parameters: dict[str, dict[str, object]]  # analyzer → setting → value
    total: int
    done: int
    failed: int
    created_at: datetime
    enqueued: bool = False  # every job is in the queue (a crash before that is resumed by recovery)
    selection: str | None = None  # the filter still to resolve into items (encoded); None once resolved
    # reprocess(outdated): on each asset only the chosen analyzers whose current run an older model made
    outdated_only: bool = False
    error: str = ""  # why the batch FAILED before it ran
    enqueued_through: str | None = None  # the last asset whose job is queued: a retry resumes after it
    heartbeat_at: datetime | None = None  # last sign of life of its preparation (recovery waits for it)
    claimed_until: datetime | None = (
        None  # a preparation run holds it until then (catalog.domain.run_ports.Claim)
    )

    @property
    def status(self) -> BatchStatus:
        if self.error:
            return BatchStatus.FAILED
        if not self.enqueued:
            return BatchStatus.PREPARING
        if self.done + self.failed < self.total:
            return BatchStatus.RUNNING
        return BatchStatus.COMPLETED_WITH_FAILURES if self.failed else BatchStatus.COMPLETED


@dataclass(frozen=True)
class ChangedAsset:
    """One entry of the change feed: an asset whose current metadata changed at `changed_at`."""

    asset_id: str
    changed_at: datetime
    deleted: bool = False  # a tombstone: the asset was deleted then


@dataclass(frozen=True)
class Person:
    """A named identity in one tenant's face collection."""

    id: str
    tenant_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class FaceRef:
    """One face of one asset: the asset and the face's index in its faces list."""

    asset_id: str
    face_index: int


@dataclass(frozen=True)
class FaceHit:
    face: FaceRef
    distance: float
    person_id: str | None
