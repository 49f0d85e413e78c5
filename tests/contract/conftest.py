"""Real servers for the contract suites, started once per session on loopback and stopped at the end."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering at {url}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not answer at {url} within {timeout:.0f}s")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server we started, by its PID: SIGTERM, then SIGKILL if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server (S3, SQS) on 127.0.0.1: real HTTP, real signatures, real botocore on our side."""
    with moto_server() as url:
        yield url


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 and SQS on a free loopback port, stopped by PID on exit (fixtures and benchmarks)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url, proc)
        yield url
    finally:
        stop(proc)


def aws_client_kwargs(endpoint: str) -> dict[str, Any]:
    """Explicit test credentials and endpoint: nothing from the host's AWS configuration is used."""
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


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
