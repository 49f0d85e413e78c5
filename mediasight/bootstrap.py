"""The composition root: the one place that picks adapters from settings and wires the services."""

from __future__ import annotations

from dataclasses import dataclass

from catalog import sqlite_catalog, sqlite_queue, sqlite_search
from catalog.files import LocalBlobStore
from catalog.keys import UrlSigner, load_or_create_secret
from catalog.ports import BlobStore, CatalogStore, JobQueue, SearchIndex
from catalog.sqlite_catalog import SqliteCatalog
from catalog.sqlite_db import SqliteDb
from catalog.sqlite_queue import SqliteJobQueue
from catalog.sqlite_search import SqliteSearchIndex
from indexer.cpu import CpuPool
from indexer.ingest import Ingestor
from indexer.pipeline import LabelSettings, Pipeline
from indexer.recognizers.ports import LabelModel
from indexer.worker import Worker, WorkerSettings
from mediasight.settings import Settings


@dataclass
class Services:
    settings: Settings
    catalog: CatalogStore
    queue: JobQueue
    blobs: BlobStore
    index: SearchIndex
    signer: UrlSigner
    cpu: CpuPool
    labeler: LabelModel
    ingestor: Ingestor
    pipeline: Pipeline
    _dbs: tuple[SqliteDb, ...]

    def worker(self) -> Worker:
        s = self.settings
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
        )

    def close(self) -> None:
        self.cpu.close()
        for db in self._dbs:
            db.close()


def build(settings: Settings, *, labeler: LabelModel | None = None) -> Services:
    """Wire the embedded stack. `labeler` lets unit tests put a fake at the recognizer port."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog_db = SqliteDb(settings.catalog_path, sqlite_catalog.SCHEMA + sqlite_queue.SCHEMA)
    search_db = SqliteDb(settings.search_path, sqlite_search.SCHEMA)
    catalog = SqliteCatalog(catalog_db)
    queue = SqliteJobQueue(catalog_db)
    blobs = LocalBlobStore(settings.blob_dir)
    index = SqliteSearchIndex(search_db)
    cpu = CpuPool(settings.cpu_threads)
    if labeler is None:
        from indexer.recognizers.local_labels import EfficientNetLabeler  # onnxruntime: import only when used

        labeler = EfficientNetLabeler(settings.model_dir)
    return Services(
        settings=settings,
        catalog=catalog,
        queue=queue,
        blobs=blobs,
        index=index,
        signer=UrlSigner(load_or_create_secret(settings.secret_path), settings.url_ttl_seconds),
        cpu=cpu,
        labeler=labeler,
        ingestor=Ingestor(
            catalog, blobs, queue, cpu, max_pixels=settings.max_pixels, max_bytes=settings.max_upload_bytes
        ),
        pipeline=Pipeline(
            catalog,
            blobs,
            index,
            cpu,
            labeler,
            LabelSettings(settings.label_min_confidence, settings.label_max_labels),
            max_pixels=settings.max_pixels,
        ),
        _dbs=(catalog_db, search_db),
    )
