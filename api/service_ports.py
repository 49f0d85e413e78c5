"""What the API needs from the rest of the system: the services its resolvers and routes use.

The API is an entrypoint like the CLI: it is handed an object of this shape (mediasight.bootstrap composes
one) and never builds adapters or imports the composition root. Tests hand it the same composed services.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from catalog.domain.ports import BlobStore, CatalogStore, FaceCollection, JobQueue, SearchIndex
from services.concepts import ConceptService
from services.export_jobs import ExportJobs
from services.exports import ExportService
from services.faces import FaceService
from services.ingest import Ingestor
from services.keys import UrlSigner
from services.reprocessing.batches import ReprocessService
from services.reprocessing.model_versions import ModelVersions
from services.review import ReviewServices
from services.search_query import SearchQueries
from services.versions import VersionService
from services.webhooks import WebhookService


class ApiServices(Protocol):
    """Read-only attributes: the API uses the services, it never swaps them."""

    @property
    def catalog(self) -> CatalogStore: ...
    @property
    def index(self) -> SearchIndex: ...
    @property
    def blobs(self) -> BlobStore: ...
    @property
    def queue(self) -> JobQueue: ...
    @property
    def faces(self) -> FaceCollection: ...
    @property
    def signer(self) -> UrlSigner: ...
    @property
    def ingestor(self) -> Ingestor: ...
    @property
    def face_service(self) -> FaceService: ...
    @property
    def versions(self) -> VersionService: ...
    @property
    def reprocess(self) -> ReprocessService: ...
    @property
    def model_versions(self) -> ModelVersions: ...
    @property
    def queries(self) -> SearchQueries: ...
    @property
    def review(self) -> ReviewServices: ...
    @property
    def max_upload_bytes(self) -> int: ...
    @property
    def max_video_bytes(self) -> int: ...
    @property
    def tenant_concurrency(self) -> int:
        """GraphQL requests of one tenant that run at once (api.tenant_gate)."""
        ...

    @property
    def unknown_key_hint(self) -> str:
        """Said after "invalid or revoked API key": where this server keeps its keys (its data dir)."""
        ...

    @property
    def exports(self) -> ExportService: ...
    @property
    def export_jobs(self) -> ExportJobs: ...
    @property
    def webhooks(self) -> WebhookService: ...
    @property
    def concepts(self) -> ConceptService: ...


class OpenServices(Protocol):
    """Opens the services for a server process on its own event loop (cloud clients belong to it) and
    closes them on exit; whatever else the process runs beside the API (the worker) lives inside it."""

    def __call__(self) -> AbstractAsyncContextManager[ApiServices]: ...
