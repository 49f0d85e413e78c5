"""Scale-out adapters (DynamoDB, OpenSearch, S3, SQS): clients made once, entered on the services' stack."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from catalog.domain.ports import BlobStore, CatalogStore, FaceCollection, JobQueue, SearchIndex
from catalog.domain.review.ports import ReviewStore
from mediasight.settings import Settings

if TYPE_CHECKING:
    from indexer.s3_events import S3EventIngestor
    from services.ingest import Ingestor


async def _aws_client(
    stack: contextlib.AsyncExitStack, service: str, settings: Settings, endpoint: str | None
) -> Any:
    import aioboto3

    return await stack.enter_async_context(
        aioboto3.Session().client(service, region_name=settings.aws_region, endpoint_url=endpoint)
    )


async def open_catalog(
    stack: contextlib.AsyncExitStack, settings: Settings
) -> tuple[CatalogStore, FaceCollection, ReviewStore]:
    from catalog.dynamodb.catalog import DynamoCatalog
    from catalog.dynamodb.faces import DynamoFaceCollection
    from catalog.dynamodb.review_store import DynamoReviewStore

    client = await _aws_client(stack, "dynamodb", settings, settings.dynamodb_endpoint_url)
    table = settings.dynamodb_table
    return DynamoCatalog(client, table), DynamoFaceCollection(client, table), DynamoReviewStore(client, table)


async def open_index(stack: contextlib.AsyncExitStack, settings: Settings) -> SearchIndex:
    from opensearchpy import AsyncOpenSearch

    from catalog.opensearch.index import OpenSearchIndex

    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    stack.push_async_callback(client.close)
    return OpenSearchIndex(client, settings.opensearch_index)


async def open_blobs(stack: contextlib.AsyncExitStack, settings: Settings) -> BlobStore:
    from catalog.aws.s3_blobs import S3BlobStore

    client = await _aws_client(stack, "s3", settings, settings.s3_endpoint_url)
    return S3BlobStore(client, settings.s3_bucket, prefix=settings.s3_prefix)


async def open_queue(stack: contextlib.AsyncExitStack, settings: Settings) -> JobQueue:
    from catalog.aws.sqs_queue import SqsJobQueue, ensure_queues

    client = await _aws_client(stack, "sqs", settings, settings.sqs_endpoint_url)
    # Idempotent: returns the URLs of existing queues (and keeps their redrive policy current).
    url, dlq = await ensure_queues(client, settings.sqs_queue, max_receives=settings.sqs_max_receives)
    return SqsJobQueue(client, url, dead_letter_url=dlq)


async def open_s3_events(
    stack: contextlib.AsyncExitStack, settings: Settings, ingestor: Ingestor, catalog: CatalogStore
) -> S3EventIngestor:
    """The S3 event consumer of `settings.s3_events_queue` (which must exist: S3 notifications and the
    queue policy that lets S3 send to it are infrastructure, not ours to create)."""
    from indexer.s3_events import S3EventIngestor, TenantMapping

    if settings.s3_events_queue is None:
        raise ValueError("MEDIASIGHT_S3_EVENTS_QUEUE is not set")
    mapping = TenantMapping.parse(settings.s3_events_tenants)  # ValueError for a bad spec, before any I/O
    sqs = await _aws_client(stack, "sqs", settings, settings.sqs_endpoint_url)
    s3 = await _aws_client(stack, "s3", settings, settings.s3_endpoint_url)
    queue_url = await _queue_url(sqs, settings.s3_events_queue)
    dlq_url = await _queue_url(sqs, settings.s3_events_dlq) if settings.s3_events_dlq else None
    return S3EventIngestor(
        sqs,
        s3,
        queue_url,
        ingestor,
        catalog,
        mapping,
        max_bytes=max(settings.max_upload_bytes, settings.max_video_bytes),
        dead_letter_url=dlq_url,
        concurrency=settings.worker_concurrency,
    )


async def _queue_url(client: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    from botocore.exceptions import ClientError

    try:
        found = await client.get_queue_url(QueueName=name_or_url)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code.endswith("NonExistentQueue") or code == "QueueDoesNotExist":
            raise ValueError(f"no SQS queue named {name_or_url!r}") from exc
        raise
    return str(found["QueueUrl"])


async def initialise(catalog: CatalogStore, index: SearchIndex, blobs: BlobStore) -> list[str]:
    """Create tables, index and bucket where the configured backends need them (`mediasight init`)."""
    done = []
    for name, target, method in (
        ("DynamoDB table", catalog, "ensure_table"),
        ("OpenSearch index", index, "ensure_index"),
        ("S3 bucket", blobs, "ensure_bucket"),
    ):
        ensure = getattr(target, method, None)
        if ensure is not None:
            await ensure()
            done.append(name)
    return done
