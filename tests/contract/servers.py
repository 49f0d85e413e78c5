"""Starting and stopping the loopback servers the contract suites and benchmarks use (a plain module:
conftest and the server modules both import it, so neither imports the other)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

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
