"""Scale-out adapters (DynamoDB, OpenSearch, S3, SQS): clients made once, entered on the services' stack."""

from __future__ import annotations

import contextlib
from typing import Any

from catalog.ports import BlobStore, CatalogStore, FaceCollection, JobQueue, SearchIndex
from mediasight.settings import Settings


async def _aws_client(
    stack: contextlib.AsyncExitStack, service: str, settings: Settings, endpoint: str | None
) -> Any:
    import aioboto3

    return await stack.enter_async_context(
        aioboto3.Session().client(service, region_name=settings.aws_region, endpoint_url=endpoint)
    )


async def open_catalog(
    stack: contextlib.AsyncExitStack, settings: Settings
) -> tuple[CatalogStore, FaceCollection]:
    from catalog.dynamodb_catalog import DynamoCatalog
    from catalog.dynamodb_faces import DynamoFaceCollection

    client = await _aws_client(stack, "dynamodb", settings, settings.dynamodb_endpoint_url)
    return DynamoCatalog(client, settings.dynamodb_table), DynamoFaceCollection(
        client, settings.dynamodb_table
    )


async def open_index(stack: contextlib.AsyncExitStack, settings: Settings) -> SearchIndex:
    from opensearchpy import AsyncOpenSearch

    from catalog.opensearch_index import OpenSearchIndex

    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    stack.push_async_callback(client.close)
    return OpenSearchIndex(client, settings.opensearch_index)


async def open_blobs(stack: contextlib.AsyncExitStack, settings: Settings) -> BlobStore:
    from catalog.s3_blobs import S3BlobStore

    client = await _aws_client(stack, "s3", settings, settings.s3_endpoint_url)
    return S3BlobStore(client, settings.s3_bucket, prefix=settings.s3_prefix)


async def open_queue(stack: contextlib.AsyncExitStack, settings: Settings) -> JobQueue:
    from catalog.sqs_queue import SqsJobQueue, ensure_queues

    client = await _aws_client(stack, "sqs", settings, settings.sqs_endpoint_url)
    # Idempotent: returns the URLs of existing queues (and keeps their redrive policy current).
    url, dlq = await ensure_queues(client, settings.sqs_queue, max_receives=settings.sqs_max_receives)
    return SqsJobQueue(client, url, dead_letter_url=dlq)


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
