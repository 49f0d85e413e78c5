"""Real servers for the contract suites, started once per session on loopback and stopped at the end."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.servers import aws_client_kwargs, moto_server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server (S3, SQS) on 127.0.0.1: real HTTP, real signatures, real botocore on our side."""
    with moto_server() as url:
        yield url


# DynamoDB Local in a private network namespace: fixtures shared by the catalog and face suites.
from tests.contract.dynamodb_server import dynamodb_client, dynamodb_endpoint  # noqa: E402, F401
from tests.contract.opensearch_server import OpenSearchServer, opensearch_server  # noqa: E402


@pytest.fixture(scope="session")
def opensearch() -> Iterator[OpenSearchServer]:
    """osmem (the OpenSearch API in memory) on loopback, or the node at MEDIASIGHT_TEST_OPENSEARCH_URL."""
    with opensearch_server() as server:
        yield server


@contextlib.asynccontextmanager
async def isolated_aws_client(service: str, endpoint: str, home: Path) -> AsyncIterator[Any]:
    """A client made with none of the host's AWS settings: test credentials, our endpoint."""
    import aioboto3

    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                env.delenv(name)
        env.setenv("AWS_CONFIG_FILE", str(home / "no-such-config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-such-credentials"))
        client_cm = aioboto3.Session().client(service, **aws_client_kwargs(endpoint))
        client = await client_cm.__aenter__()
    try:
        yield client
    finally:
        await client_cm.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def s3_client(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    async with isolated_aws_client("s3", moto_endpoint, tmp_path_factory.mktemp("aws")) as client:
        yield client


@pytest.fixture(scope="session")
async def sqs_client(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    async with isolated_aws_client("sqs", moto_endpoint, tmp_path_factory.mktemp("aws")) as client:
        yield client
