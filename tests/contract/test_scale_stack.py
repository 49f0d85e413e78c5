"""The whole service on the scale-out stack (DynamoDB Local, OpenSearch API, S3 and SQS on moto) gives the
same GraphQL answers as the embedded stack."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from api.context import Context
from api.schema import schema
from mediasight.bootstrap import open_services
from mediasight.scale_out import initialise
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes, make_tenant
from tests.contract.opensearch_server import OpenSearchServer
from tests.fakes import ColorLabeler

pytestmark = [pytest.mark.dynamodb, pytest.mark.opensearch, pytest.mark.s3, pytest.mark.sqs]

QUERIES = [
    """{ search(filter: {labels: ["color"]}) {
      totalCount edges { score node { filename status } } facets { labels { value count } } } }""",
    '{ search(query: "red") { totalCount edges { node { filename } } } }',
    """{ search(filter: {labels: ["color"], notLabels: ["blue"]}, sort: CREATED) {
      edges { node { filename } } } }""",
]


async def answers(settings: Settings) -> list[dict[str, Any]]:
    services = await open_services(settings, labeler=ColorLabeler())
    try:
        await initialise(services.catalog, services.index, services.blobs)
        tenant, _ = await make_tenant(services, "acme")
        for name, color in (("red", (240, 20, 20)), ("green", (20, 230, 20)), ("blue", (20, 20, 200))):
            outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), f"{name}.jpg")
            assert outcome.status == "new", outcome.error
        again = await services.ingestor.ingest(tenant, jpeg_bytes((240, 20, 20)), "copy.jpg")
        assert again.status == "duplicate"
        await services.worker().run_until_idle()
        out = []
        for query in QUERIES:
            result = await schema.execute(query, context_value=Context(services, tenant))
            assert result.errors is None, result.errors
            out.append(result.data)
        other, _ = await make_tenant(services, "other")
        nothing = await schema.execute(QUERIES[0], context_value=Context(services, other))
        assert nothing.data == {"search": {"totalCount": 0, "edges": [], "facets": {"labels": []}}}
        return out
    finally:
        await services.aclose()


async def test_the_scale_stack_answers_like_the_embedded_one(
    tmp_path: Path, aws_env: None, moto_endpoint: str, dynamodb_endpoint: str, opensearch: OpenSearchServer
) -> None:
    unique = f"ms-{uuid.uuid4().hex[:10]}"
    common: dict[str, Any] = {"analyzers": "labels", "semantic_search": False, "job_retry_base_seconds": 0.0}
    scale = Settings(
        data_dir=tmp_path / "scale",
        catalog_backend="dynamodb", dynamodb_endpoint_url=dynamodb_endpoint, dynamodb_table=unique,
        index_backend="opensearch", opensearch_url=opensearch.url, opensearch_index=unique,
        blob_backend="s3", s3_endpoint_url=moto_endpoint, s3_bucket=unique,
        queue_backend="sqs", sqs_endpoint_url=moto_endpoint, sqs_queue=unique,
        **common,
    )  # fmt: skip
    embedded = Settings(data_dir=tmp_path / "embedded", **common)
    expected = await answers(embedded)
    assert expected[0]["search"]["totalCount"] == 3
    assert await answers(scale) == expected
