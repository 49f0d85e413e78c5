"""Backfill benchmark: the embedded stack against the scale-out stack, on the same images, in one run.

A backfill: `mediasight worker` processes (the same number on both stacks, with the same analyzers,
concurrency and CPU threads) are running; a folder of images is registered the way `mediasight ingest`
registers it (its own code, in this process: read, SHA-256, probe, store the original, enqueue; two files
at once per --ingest-threads), and the clock stops when the catalog says every asset is INDEXED. Workers
are started and warmed up (models loaded) before the clock starts; each round gets a fresh data dir, and
on the scale stack fresh table, index, bucket and queue names.

Embedded: SQLite catalog, queue and index, a local folder of blobs. Scale-out: DynamoDB Local, the
OpenSearch API (osmem-server, or the node at MEDIASIGHT_TEST_OPENSEARCH_URL), S3 and SQS on moto, each
started here the way the contract-test fixtures start them (DynamoDB Local needs root, for its private
network namespace, and Java). The servers share this machine's cores with the workers and the registering
process: on a small machine the scale-out number measures the emulators' CPU as much as the design. Each
round's line also gives when registration ended (the rest is workers catching up). Last line:
    backfill images=N embedded_images_per_s=X scale_images_per_s=Y
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
from rich.console import Console

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from bench.ingest import make_images
from catalog.domain.model import Stage
from catalog.dynamodb.table import ensure_table
from mediasight.bootstrap import Services, open_services
from mediasight.ingest_files import ingest_paths
from mediasight.settings import Settings
from tests.contract.dynamodb_server import (
    INSTALL,
    JAR_PORT,
    ROOT,
    _in_private_netns,
    _jar_command,
    _jar_dir,
    _Server,
    _start_isolated,
    _stop,
)
from tests.contract.opensearch_server import opensearch_server
from tests.contract.servers import aws_client_kwargs, moto_server, stop, wait_for_http

MEDIASIGHT = [sys.executable, "-m", "mediasight"]
STARTED = "worker started"
POLL_SECONDS = 0.1  # how often the catalog is asked whether the backfill is done


@contextlib.contextmanager
def dynamodb_local(workdir: Path) -> Iterator[str]:
    """As the `dynamodb_endpoint` fixture: the jar in a private network namespace, behind a relay."""
    jar_dir = _jar_dir()
    if jar_dir is None:
        raise SystemExit(f"DynamoDB Local is not installed: run `{INSTALL}` in {ROOT}")
    if shutil.which("java") is None:
        raise SystemExit("DynamoDB Local needs Java (17)")
    if not _in_private_netns() and (os.geteuid() != 0 or shutil.which("unshare") is None):
        raise SystemExit(
            "DynamoDB Local binds all interfaces: run as root (it gets a private network namespace) or "
            "inside one: unshare -rn sh -c 'ip link set lo up && .venv/bin/python -m bench.backfill'"
        )
    proc, url, relay = _start_isolated(_jar_command(jar_dir, JAR_PORT), workdir)
    server = _Server(proc, url, relay)
    try:
        wait_for_http(url, proc)
        yield url
    finally:
        _stop(server)


@contextlib.asynccontextmanager
async def dynamodb_local_table() -> AsyncIterator[tuple[Any, str]]:
    """A client of DynamoDB Local started for this run (as dynamodb_local, with test credentials only) and a
    fresh table on it: (client, table name)."""
    isolate_aws()
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp, dynamodb_local(Path(tmp)) as url:
        async with aioboto3.Session().client("dynamodb", **aws_client_kwargs(url)) as client:
            table = f"mediasight-bench-{uuid.uuid4().hex[:8]}"
            await ensure_table(client, table)
            try:
                yield client, table
            finally:
                await client.delete_table(TableName=table)


def isolate_aws() -> None:
    """Test credentials, no config files, no instance metadata: nothing of the host's AWS set-up is used
    (the workers inherit this environment)."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


class Stack:
    """One round's deployment: its MEDIASIGHT_* environment, workers, and this process's services."""

    def __init__(self, env: dict[str, str], root: Path, workers: int, ingest_threads: int) -> None:
        self.env = {**os.environ, **{f"MEDIASIGHT_{k}": v for k, v in env.items()}}
        # This process registers the files, as `mediasight ingest` does: 2 per CPU thread at once.
        mine = {**env, "CPU_THREADS": str(ingest_threads)}
        self.settings = Settings(**{k.lower(): v for k, v in mine.items()})  # type: ignore[arg-type]
        self.root = root
        self.count = workers
        self.procs: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str) -> None:
        done = subprocess.run([*MEDIASIGHT, *args], env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mediasight {' '.join(args)} exited {done.returncode}:\n{done.stderr}")

    def log(self, i: int) -> Path:
        return self.root / f"worker{i}.log"

    def start_workers(self) -> None:
        for i in range(self.count):
            with self.log(i).open("wb") as out:  # a file: a pipe nobody reads would fill and stall it
                self.procs.append(
                    subprocess.Popen([*MEDIASIGHT, "worker"], env=self.env, stdout=out, stderr=out)
                )

    async def workers_started(self, within: float = 120) -> None:
        deadline = time.monotonic() + within
        while not all(STARTED in self.log(i).read_text() for i in range(self.count)):
            self.check_workers()
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start within {within:.0f}s")
            await asyncio.sleep(0.1)

    def check_workers(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                raise RuntimeError(f"worker {i} exited {proc.returncode}:\n{self.log(i).read_text()[-3000:]}")

    def stop_workers(self) -> None:
        for proc in self.procs:
            stop(proc)
        self.procs.clear()


@dataclass(frozen=True)
class Timing:
    assets: int
    registered: float  # seconds until every file was registered and enqueued
    indexed: float  # seconds until every asset was INDEXED (from the same start)

    @property
    def rate(self) -> float:
        return self.assets / self.indexed


async def backfill(services: Services, stack: Stack, tenant: str, folder: Path) -> Timing:
    """Register every file in `folder`, then wait until every asset is INDEXED."""
    tenant_obj = await services.catalog.get_tenant_by_name(tenant)
    assert tenant_obj is not None
    start = time.perf_counter()
    results = await ingest_paths(
        services, tenant_obj.id, [folder], as_json=False, wait=False, console=Console(file=io.StringIO())
    )
    registered = time.perf_counter() - start
    ids = [r.outcome.asset.id for r in results if r.outcome.asset is not None]
    assert len(ids) == len(results), [r.outcome.error for r in results if r.outcome.asset is None]
    while True:
        counts = Counter((await services.catalog.stages_of(tenant_obj.id, ids)).values())
        if counts.get(Stage.INDEXED, 0) + counts.get(Stage.FAILED, 0) == len(ids):
            break
        stack.check_workers()
        await asyncio.sleep(POLL_SECONDS)
    elapsed = time.perf_counter() - start
    assert counts.get(Stage.FAILED, 0) == 0, f"some assets failed: {counts}"
    assert await services.index.count(tenant_obj.id) == len(ids)
    return Timing(len(ids), registered, elapsed)


async def one_round(env: dict[str, str], root: Path, shared: Path, args: argparse.Namespace) -> Timing:
    """A fresh deployment of `env` under `root`; `shared` holds the images, warm-up images and models."""
    shutil.copytree(shared / "models", root / "data" / "models")
    stack = Stack({"DATA_DIR": str(root / "data"), **env}, root, args.workers, args.ingest_threads)
    stack.cli("init")
    stack.cli("tenant", "create", "warmup")
    stack.cli("tenant", "create", "bench")
    stack.start_workers()
    try:
        services = await open_services(stack.settings)
        try:
            await stack.workers_started()
            await backfill(services, stack, "warmup", shared / "warmup")  # each worker loads its models
            timing = await backfill(services, stack, "bench", shared / "images")
        finally:
            await services.aclose()
    finally:
        stack.stop_workers()
    return timing


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=200, help="number of images (default 200)")
    parser.add_argument("--width", type=int, default=640, help="image width (default 640)")
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--analyzers", default="properties,labels", help="default properties,labels")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="assets at once per worker (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per worker (default 1)")
    parser.add_argument(
        "--ingest-threads", type=int, default=2, help="CPU threads of the registering process (default 2)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating embedded/scale rounds (median)")
    args = parser.parse_args()
    isolate_aws()
    common = {
        "ANALYZERS": args.analyzers,
        "SEMANTIC_SEARCH": "false",
        "WORKER_CONCURRENCY": str(args.concurrency),
        "CPU_THREADS": str(args.threads),
    }
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp:
        root = Path(tmp)
        for name in ("images", "warmup", "ddb"):
            (root / name).mkdir()
        print(f"making {args.images} JPEGs of {args.width}x{args.height} ...", flush=True)
        make_images(root / "images", args.images, (args.width, args.height))
        # Other photos than the measured ones (a duplicate of one would be registered as such).
        make_images(root / "warmup", args.workers * args.concurrency, (args.width + 2, args.height))
        if "labels" in args.analyzers:
            from indexer.recognizers.local.efficientnet_onnx import ensure_onnx_model

            ensure_onnx_model(root / "models")  # built once, copied into each round's data dir
        (root / "models").mkdir(exist_ok=True)
        with (
            moto_server() as moto,
            dynamodb_local(root / "ddb") as dynamodb,
            opensearch_server() as opensearch,
        ):
            print(f"servers up: moto {moto}, DynamoDB Local {dynamodb}, OpenSearch API {opensearch.url}")
            rates: dict[str, list[float]] = {"embedded": [], "scale": []}
            for round_no in range(args.rounds):
                unique = f"ms-bench-{uuid.uuid4().hex[:10]}"
                stacks = {
                    "embedded": common,
                    "scale": {
                        **common,
                        "CATALOG_BACKEND": "dynamodb",
                        "DYNAMODB_ENDPOINT_URL": dynamodb,
                        "DYNAMODB_TABLE": unique,
                        "INDEX_BACKEND": "opensearch",
                        "OPENSEARCH_URL": opensearch.url,
                        "OPENSEARCH_INDEX": unique,
                        "BLOB_BACKEND": "s3",
                        "S3_ENDPOINT_URL": moto,
                        "S3_BUCKET": unique,
                        "QUEUE_BACKEND": "sqs",
                        "SQS_ENDPOINT_URL": moto,
                        "SQS_QUEUE": unique,
                    },
                }
                shown = []
                for name, env in stacks.items():  # alternating: both see the same machine
                    t = await one_round(env, root / f"{name}{round_no}", root, args)
                    rates[name].append(t.rate)
                    shown.append(
                        f"{name} {t.rate:.2f}/s (registered in {t.registered:.1f}s of {t.indexed:.1f}s)"
                    )
                print(f"round {round_no + 1}: {', '.join(shown)}", flush=True)
        embedded, scale = (statistics.median(rates[k]) for k in ("embedded", "scale"))
        print(
            f"backfill images={args.images} embedded_images_per_s={embedded:.2f} "
            f"scale_images_per_s={scale:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
