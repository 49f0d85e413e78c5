from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

MEDIASIGHT = [sys.executable, "-m", "mediasight"]


class Cli:
    """Runs `mediasight` as a user would, against one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.env = {**os.environ, "MEDIASIGHT_DATA_DIR": str(data_dir), "MEDIASIGHT_JOB_LEASE_SECONDS": "3"}

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*MEDIASIGHT, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"mediasight {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*MEDIASIGHT, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX model built once per test session and copied into each data dir that needs it."""
    from indexer.recognizers.local.efficientnet_onnx import ensure_onnx_model

    cache = tmp_path_factory.mktemp("models")
    ensure_onnx_model(cache)
    return cache


def new_data_dir(root: Path, model_cache: Path) -> Path:
    data = root / "data"
    shutil.copytree(model_cache, data / "models")
    return data


@pytest.fixture
def server(tmp_path: Path, model_cache: Path) -> Iterator[tuple[Cli, str]]:
    """`mediasight serve` on a free loopback port; stopped (SIGTERM, then SIGKILL) at the end."""
    cli = Cli(new_data_dir(tmp_path, model_cache))
    port = free_port()
    proc = cli.start("serve", "--host", "127.0.0.1", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"server did not start: {proc.communicate()[1]}")
        time.sleep(0.2)
    try:
        yield cli, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
