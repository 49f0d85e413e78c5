"""The composition root: the one place that picks adapters from settings and wires the services."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING

from catalog.domain.ports import (
    AssetRegistration,
    BlobStore,
    CatalogStore,
    FaceCollection,
    JobQueue,
    SearchIndex,
)
from catalog.domain.review.ports import ReviewStore
from catalog.domain.webhook_store import WebhookStore
from catalog.local.folder_blobs import LocalBlobStore
from catalog.sqlite import catalog as sqlite_catalog
from catalog.sqlite import faces as sqlite_faces
from catalog.sqlite import queue as sqlite_queue
from catalog.sqlite.catalog import SqliteCatalog
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.faces import SqliteFaceCollection
from catalog.sqlite.migrations import migrate_catalog
from catalog.sqlite.queue import SqliteJobQueue
from catalog.sqlite.registration import SqliteRegistration
from catalog.sqlite.review_store import SqliteReviewStore
from catalog.sqlite.search import index as sqlite_search
from catalog.sqlite.search.index import SqliteSearchIndex
from indexer.analyzers import AnalyzerChoice, AnalyzerRegistry, UnknownAnalyzerError, validate_choice
from indexer.cpu import CpuPool
from indexer.fresh_originals import FreshOriginals
from indexer.metadata.exiv2_metadata import Exiv2Metadata
from indexer.metadata.exiv2_sandbox import Exiv2Sandbox
from indexer.pipeline import Pipeline
from indexer.recognizers.ports import (
    Analyzer,
    AnalyzerInputError,
    Factories,
    LabelModel,
    ProviderParts,
    TextEmbedder,
)
from indexer.video.analysis import FaceDetector
from indexer.video.video_work import SHOT_WINDOW, ShotModel, VideoWork
from indexer.webhooks.sender import HttpSender
from indexer.worker import Worker, WorkerSettings
from mediasight import scale_out
from mediasight.providers import REGISTRY, ProviderDeps, provider_names
from mediasight.settings import Settings
from services.concepts import ConceptService
from services.export_jobs import ExportJobs
from services.exports import ExportService
from services.face_collection import RoutedFaceCollection
from services.faces import FaceService
from services.ingest import Ingestor, RegisterThenEnqueue
from services.keys import UrlSigner, load_or_create_secret
from services.reprocessing.batches import ReprocessService, reread_embedded
from services.reprocessing.model_versions import ModelVersions
from services.reprocessing.server_models import ServerModels
from services.review import ReviewServices
from services.search_query import SearchQueries
from services.versions import VersionService
from services.webhook_feed import FeedFollower
from services.webhooks import WebhookService

if TYPE_CHECKING:
    from indexer.s3_events import S3EventIngestor


@dataclass
class Services:
    settings: Settings
    catalog: CatalogStore
    queue: JobQueue
    blobs: BlobStore
    index: SearchIndex
    faces: RoutedFaceCollection
    signer: UrlSigner
    cpu: CpuPool
    analyzers: AnalyzerRegistry
    embedder: TextEmbedder | None
    ingestor: Ingestor
    pipeline: Pipeline
    face_service: FaceService
    versions: VersionService
    reprocess: ReprocessService
    model_versions: ModelVersions  # which model made each analyzer's current runs (outdated ones)
    review: ReviewServices
    queries: SearchQueries
    metadata: Exiv2Metadata  # embedded metadata read and written by exiv2 in a child process
    exports: ExportService
    webhooks: WebhookService
    webhook_sender: HttpSender
    webhook_feed: FeedFollower  # metadata-changed events, from the change feed
    export_jobs: ExportJobs
    concepts: ConceptService
    fresh_originals: FreshOriginals  # ingest → this process's worker, in memory
    _dbs: tuple[SqliteDb, ...]
    _stack: contextlib.AsyncExitStack = dataclasses.field(default_factory=contextlib.AsyncExitStack)
    _closed: bool = False

    @property
    def max_upload_bytes(self) -> int:
        return self.settings.max_upload_bytes

    @property
    def max_video_bytes(self) -> int:
        return self.settings.max_video_bytes

    @property
    def tenant_concurrency(self) -> int:
        return self.settings.tenant_concurrency

    @property
    def unknown_key_hint(self) -> str:
        """An unknown key is most often one made for another data dir (`tenant create` run elsewhere)."""
        if self.settings.catalog_backend != "sqlite":
            return ""
        return (
            f". This server's data dir is {self.settings.data_dir.resolve()}: a key made by `mediasight "
            "tenant create` for another data dir (--data-dir, MEDIASIGHT_DATA_DIR) is not known here"
        )

    async def start(self) -> None:
        """Async set-up: providers that need a client, created once and closed by aclose() (open_services
        calls it)."""
        deps = ProviderDeps(self.catalog, self.cpu)
        for entry in REGISTRY.values():
            if entry.open is not None and (parts := await entry.open(self.settings, deps, self._stack)):
                self.add_provider(parts)

    def add_provider(self, parts: ProviderParts) -> None:
        """Offer a provider's analyzers, and its face collections if it keeps faces itself."""
        self.analyzers.register(parts.factories)
        if parts.face_index is not None:
            self.faces.use_remote(parts.face_index)

    async def s3_event_ingestor(self) -> S3EventIngestor | None:
        """The consumer of S3 ObjectCreated notifications when MEDIASIGHT_S3_EVENTS_QUEUE is set; its
        clients live on this services' stack (closed by aclose())."""
        if self.settings.s3_events_queue is None:
            return None
        return await scale_out.open_s3_events(self._stack, self.settings, self.ingestor, self.catalog)

    async def aclose(self) -> None:
        await self.review.quality.close()
        await self.webhook_sender.aclose()
        await self._stack.aclose()
        self.close()

    def worker(self) -> Worker:
        s = self.settings
        self.fresh_originals.enabled = True  # this process's ingests now have a taker
        return Worker(
            self.queue,
            self.catalog,
            self.pipeline,
            WorkerSettings(
                concurrency=s.worker_concurrency,
                lease_seconds=s.job_lease_seconds,
                max_attempts=s.job_max_attempts,
                retry_base_seconds=s.job_retry_base_seconds,
            ),
            self.reprocess.preparation,
            self.webhooks,
            self.export_jobs,
            self.concepts,
            self.webhook_feed,
            review_rules=self.review.tasks.apply_to,
        )

    async def analyzer_choice(self, tenant_id: str) -> AnalyzerChoice:
        return await choose_analyzers(self.settings, self.catalog, tenant_id)

    def close(self) -> None:
        """Idempotent: the serve lifespan and the CLI may both close."""
        if self._closed:
            return
        self._closed = True
        self.cpu.close()
        self.metadata.close()
        for db in self._dbs:
            db.close()


def webhook_store(catalog: CatalogStore) -> WebhookStore:
    """Both catalog adapters keep the tenants' webhooks too."""
    from catalog.dynamodb.catalog import DynamoCatalog

    if not isinstance(catalog, SqliteCatalog | DynamoCatalog):
        raise TypeError(f"{type(catalog).__name__} keeps no webhooks")
    return catalog


async def choose_analyzers(settings: Settings, catalog: CatalogStore, tenant_id: str) -> AnalyzerChoice:
    """The server's analyzers and providers, overridden by the tenant's own configuration."""
    tenant = await catalog.get_tenant(tenant_id)
    config = tenant.config if tenant else None
    analyzers = config.analyzers if config and config.analyzers is not None else settings.analyzer_names
    providers = {**settings.provider_map, **(config.providers if config else {})}
    choice = validate_choice(analyzers, providers, provider_names())
    return dataclasses.replace(choice, parameters=config.parameters) if config else choice


class CachedChoices:
    """choose_analyzers, remembered per tenant for a few seconds: the pipeline asks once per asset, and a
    `tenant configure` takes effect within `ttl` seconds."""

    def __init__(self, settings: Settings, catalog: CatalogStore, ttl: float = 5.0) -> None:
        self._settings = settings
        self._catalog = catalog
        self._ttl = ttl
        self._cache: dict[str, tuple[float, AnalyzerChoice]] = {}

    async def __call__(self, tenant_id: str) -> AnalyzerChoice:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        choice = await choose_analyzers(self._settings, self._catalog, tenant_id)
        self._cache[tenant_id] = (now, choice)
        return choice


@dataclass
class Adapters:
    catalog: CatalogStore
    queue: JobQueue
    blobs: BlobStore
    index: SearchIndex
    faces: FaceCollection
    review: ReviewStore
    dbs: tuple[SqliteDb, ...] = ()


def asset_registration(a: Adapters) -> AssetRegistration:
    """One transaction for a new asset and its job when the catalog and the queue are the embedded ones on
    one database; two writes otherwise (DynamoDB, SQS)."""
    catalog, queue = a.catalog, a.queue
    if isinstance(catalog, SqliteCatalog) and isinstance(queue, SqliteJobQueue) and catalog.db is queue.db:
        return SqliteRegistration(queue)
    return RegisterThenEnqueue(a.catalog, a.queue)


# How the fields are read from what exiv2 gives (indexer.metadata.exiv2_fields): a new revision makes older
# runs outdated (`reprocess --outdated`). r2: capture times keep their zone; a sidecar's date its own.
READER_REVISION = "r2"


def embedded_factories(metadata: Exiv2Metadata, blobs: BlobStore, cpu: CpuPool) -> Factories:
    """The "embedded" analyzer: the metadata that came with the file, read by exiv2 (no model: it runs
    for the "local" provider)."""

    def embedded() -> Analyzer:
        from indexer.metadata.embedded_analyzer import EmbeddedMetadataAnalyzer

        return EmbeddedMetadataAnalyzer(
            metadata, blobs, cpu, f"pyexiv2-{version('pyexiv2')}+{READER_REVISION}"
        )

    return {("embedded", "local"): embedded}


def embedded_adapters(settings: Settings) -> Adapters:
    """SQLite catalog, queue, face collection and index; a local folder of blobs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog_db = SqliteDb(
        settings.catalog_path,
        sqlite_catalog.SCHEMA + sqlite_queue.SCHEMA + sqlite_faces.SCHEMA,
        migrate=migrate_catalog,
    )
    search_db = SqliteDb(settings.search_path, sqlite_search.SCHEMA)
    return Adapters(
        catalog=SqliteCatalog(catalog_db),
        queue=SqliteJobQueue(catalog_db),
        blobs=LocalBlobStore(settings.blob_dir),
        index=SqliteSearchIndex(search_db),
        faces=SqliteFaceCollection(catalog_db),
        review=SqliteReviewStore(catalog_db),
        dbs=(catalog_db, search_db),
    )


async def open_services(
    settings: Settings, *, labeler: LabelModel | None = None, embedder: TextEmbedder | None = None
) -> Services:
    """Wire the configured stack: each backend embedded or scale-out, cloud clients entered once."""
    stack = contextlib.AsyncExitStack()
    try:
        adapters = embedded_adapters(settings)
        if settings.catalog_backend == "dynamodb":
            adapters.catalog, adapters.faces, adapters.review = await scale_out.open_catalog(stack, settings)
        if settings.index_backend == "opensearch":
            adapters.index = await scale_out.open_index(stack, settings)
        if settings.blob_backend == "s3":
            adapters.blobs = await scale_out.open_blobs(stack, settings)
        if settings.queue_backend == "sqs":
            adapters.queue = await scale_out.open_queue(stack, settings)
        services = build(settings, labeler=labeler, embedder=embedder, adapters=adapters, stack=stack)
        await services.start()
        return services
    except BaseException:
        await stack.aclose()
        raise


def feature_model(analyzers: AnalyzerRegistry) -> str | None:
    """The version of the feature vectors this server makes (None without a local classifier that gives
    them): what new concept trainings learn from."""
    try:
        return analyzers.get("features", "local").model_version
    except (UnknownAnalyzerError, AnalyzerInputError):
        return None


def video_work(settings: Settings, labeler: LabelModel | None) -> VideoWork:
    """Video analysis over the local models (TransNetV2 shots, EfficientNet keyframe labels, dlib faces
    helped by the object detector's people), each loaded on first use; `labeler`: a fake at the port in unit
    tests."""

    def shots() -> ShotModel:
        from indexer.recognizers.local.transnetv2 import TransNetV2

        return TransNetV2(settings.model_dir, window=SHOT_WINDOW)

    def labels() -> LabelModel:
        from indexer.recognizers.local.labels import EfficientNetLabeler

        return labeler or EfficientNetLabeler(settings.model_dir)

    def faces() -> FaceDetector:
        from indexer.recognizers.local.faces import keyframe_faces

        return keyframe_faces(settings.model_dir)

    return VideoWork(shots, labels, faces, min_confidence=settings.label_min_confidence)


def build(
    settings: Settings,
    *,
    labeler: LabelModel | None = None,
    embedder: TextEmbedder | None = None,
    adapters: Adapters | None = None,
    stack: contextlib.AsyncExitStack | None = None,
) -> Services:
    """Wire the services over the adapters (embedded by default). `labeler` and `embedder` let unit tests
    put fakes at the recognizer ports."""
    # Fail at start, not on the first asset.
    validate_choice(settings.analyzer_names, settings.provider_map, provider_names())
    a = adapters or embedded_adapters(settings)
    cpu = CpuPool(settings.cpu_threads)
    metadata = Exiv2Metadata(Exiv2Sandbox(timeout=settings.metadata_timeout_seconds))
    analyzers = AnalyzerRegistry({})
    deps = ProviderDeps(a.catalog, cpu, labeler)
    for entry in REGISTRY.values():
        if entry.build is not None and (parts := entry.build(settings, deps)):
            analyzers.register(parts.factories)
    analyzers.register(embedded_factories(metadata, a.blobs, cpu))
    if embedder is None and settings.semantic_search:
        from indexer.recognizers.local.text_embedding import (
            MiniLmEmbedder,  # numpy model: import only when used
        )

        embedder = MiniLmEmbedder()
    choices = CachedChoices(settings, a.catalog)
    faces = RoutedFaceCollection(a.faces)  # + a provider's remote face collections once it opens
    exports = ExportService(a.catalog, a.blobs, faces, metadata, cpu)
    sender = HttpSender(allow_private=settings.webhooks_allow_private)
    webhooks = WebhookService(
        webhook_store(a.catalog),
        a.queue,
        sender,
        sender.check_url,
        describe=exports.describe,
        retry_scale=settings.webhook_retry_scale,
    )
    review = ReviewServices.build(a.catalog, a.review, a.queue, cpu, webhooks=webhooks)
    fresh = FreshOriginals()
    video = video_work(settings, labeler)
    server = ServerModels(
        a.catalog,
        analyzers,
        video=lambda: cpu.run(video.model),
        embedder=embedder,
        features=lambda: feature_model(analyzers),
    )
    pipeline = Pipeline(
        a.catalog,
        a.blobs,
        a.index,
        faces,
        cpu,
        analyzers,
        choices,
        embedder,
        max_pixels=settings.max_pixels,
        video=video,
        after_indexed=review.tasks.on_indexed,
        fresh=fresh,
    )
    reprocess = ReprocessService(a.catalog, a.queue, a.index, analyzers, choices, server)
    return Services(
        settings=settings,
        catalog=a.catalog,
        queue=a.queue,
        blobs=a.blobs,
        index=a.index,
        faces=faces,
        signer=UrlSigner(load_or_create_secret(settings.secret_path), settings.url_ttl_seconds),
        cpu=cpu,
        analyzers=analyzers,
        embedder=embedder,
        ingestor=Ingestor(
            a.catalog,
            a.blobs,
            a.queue,
            cpu,
            max_pixels=settings.max_pixels,
            max_bytes=settings.max_upload_bytes,
            max_video_bytes=settings.max_video_bytes,
            on_new_sidecar=lambda tenant_id, asset_id: reread_embedded(reprocess, tenant_id, asset_id),
            registration=asset_registration(a),
            fresh=fresh,
        ),
        pipeline=pipeline,
        face_service=FaceService(
            a.catalog, faces, a.queue, analyzers, cpu, max_pixels=settings.max_pixels, choose=choices
        ),
        versions=VersionService(
            a.catalog, a.index, faces, a.blobs, a.queue, on_deleted=webhooks.asset_deleted
        ),
        reprocess=reprocess,
        model_versions=ModelVersions(a.catalog, server, choices),
        review=review,
        queries=SearchQueries(a.catalog, cpu, embedder),
        metadata=metadata,
        exports=exports,
        webhooks=webhooks,
        webhook_sender=sender,
        webhook_feed=FeedFollower(webhook_store(a.catalog), a.catalog.changed_assets, webhooks, a.queue),
        export_jobs=ExportJobs(a.blobs, a.queue, a.catalog, a.index, exports),
        concepts=ConceptService(
            a.catalog,
            a.queue,
            a.index,
            cpu,
            reprocess,
            feature_model=lambda: feature_model(analyzers),
            review=review.tasks,
        ),
        fresh_originals=fresh,
        _dbs=a.dbs,
        _stack=stack or contextlib.AsyncExitStack(),
    )
