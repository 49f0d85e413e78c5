"""kill -9 of one of two `mediasight worker` processes mid-backfill on the scale-out stack (DynamoDB Local,
the OpenSearch API, S3 and SQS on moto): the killed worker's leased SQS messages come back when their
visibility timeout (the lease) runs out, a restarted worker and the survivor finish the backlog, and every
file ends as exactly one INDEXED asset with exactly one search document.

Everything runs as a user would run it: `mediasight init`, `tenant create`, `ingest` (no --wait: it
registers and enqueues) and `worker` are subprocesses with the MEDIASIGHT_* environment; this process only
watches the catalog and the index through `open_services` with the same settings.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.domain.model import Asset, Stage
from mediasight.bootstrap import Services, open_services
from mediasight.settings import Settings
from tests.contract.opensearch_server import OpenSearchServer
from tests.e2e.conftest import MEDIASIGHT, Cli

pytestmark = [pytest.mark.dynamodb, pytest.mark.opensearch, pytest.mark.s3, pytest.mark.sqs]

TOTAL = 200
LEASE_SECONDS = 3  # the SQS visibility timeout: a killed worker's messages reappear this soon
TIMEOUT = 120.0


def write_images(folder: Path, count: int) -> None:
    """Small distinct JPEGs: a colour of their own plus noise (no two files share bytes)."""
    rng = np.random.default_rng(11)
    for i in range(count):
        base = np.array([(i * 37) % 256, (i * 91) % 256, (i * 53) % 256], dtype=np.float32)
        pixels = np.clip(base + rng.normal(0, 12, (64, 96, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{i:03d}.jpg", "JPEG", quality=85)


def start_worker(cli: Cli, log: Path) -> subprocess.Popen[bytes]:
    """A worker whose log goes to a file: a pipe nobody reads would fill and stall it."""
    with log.open("ab") as out:
        return subprocess.Popen([*MEDIASIGHT, "worker"], env=cli.env, stdout=out, stderr=subprocess.STDOUT)


def stop_worker(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


async def all_assets(services: Services, tenant_id: str) -> list[Asset]:
    out: list[Asset] = []
    after = None
    while page := await services.catalog.list_assets(tenant_id, after=after, limit=500):
        out.extend(page)
        after = page[-1].id
    return out


async def test_kill_9_of_a_worker_mid_backfill_loses_and_duplicates_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    aws_env: None,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    opensearch: OpenSearchServer,
) -> None:
    unique = f"ms-chaos-{uuid.uuid4().hex[:10]}"
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "ANALYZERS": "properties",
        "SEMANTIC_SEARCH": "false",
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "JOB_RETRY_BASE_SECONDS": "0.5",
        "CATALOG_BACKEND": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": dynamodb_endpoint,
        "DYNAMODB_TABLE": unique,
        "INDEX_BACKEND": "opensearch",
        "OPENSEARCH_URL": opensearch.url,
        "OPENSEARCH_INDEX": unique,
        "BLOB_BACKEND": "s3",
        "S3_ENDPOINT_URL": moto_endpoint,
        "S3_BUCKET": unique,
        "QUEUE_BACKEND": "sqs",
        "SQS_ENDPOINT_URL": moto_endpoint,
        "SQS_QUEUE": unique,
    }
    for name, value in env.items():
        monkeypatch.setenv(f"MEDIASIGHT_{name}", value)
    settings = Settings()  # what the subprocesses read, for this process's own look at the stack
    cli = Cli(settings.data_dir)  # os.environ now, with the MEDIASIGHT_* above and aws_env's credentials
    folder = tmp_path / "images"
    folder.mkdir()
    write_images(folder, TOTAL)

    await asyncio.to_thread(cli.run, "init")
    await asyncio.to_thread(cli.run, "tenant", "create", "acme")
    ingest = await asyncio.to_thread(cli.run, "ingest", str(folder), "--tenant", "acme", "--json")
    rows = [json.loads(line) for line in ingest.stdout.splitlines()]
    assert len(rows) == TOTAL and {r["status"] for r in rows} == {"new"}, ingest.stderr
    ids = [r["assetId"] for r in rows]

    logs = tmp_path / "logs"
    logs.mkdir()
    workers: list[subprocess.Popen[bytes]] = []
    services = await open_services(settings)
    try:
        tenant = await services.catalog.get_tenant_by_name("acme")
        assert tenant is not None

        workers += [start_worker(cli, logs / f"worker{i}.log") for i in range(2)]
        victim = workers[0]

        async def wait_until(done: int, what: str) -> dict[Stage, int]:
            deadline = time.monotonic() + TIMEOUT
            while True:
                counts = Counter((await services.catalog.stages_of(tenant.id, ids)).values())
                if counts.get(Stage.INDEXED, 0) + counts.get(Stage.FAILED, 0) >= done:
                    return counts
                for i, proc in enumerate(workers):
                    if proc is not victim:
                        assert proc.poll() is None, (logs / f"worker{i}.log").read_text()
                assert time.monotonic() < deadline, f"{what}: {counts} after {TIMEOUT:.0f}s"
                await asyncio.sleep(0.05)

        before = await wait_until(TOTAL // 5, "first fifth")
        # No clean-up: the messages it leased stay hidden until their lease (visibility timeout) ends.
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        at_kill = Counter((await services.catalog.stages_of(tenant.id, ids)).values())
        assert at_kill.get(Stage.INDEXED, 0) < TOTAL, f"the kill came too late to test anything: {at_kill}"
        workers.append(start_worker(cli, logs / "worker2.log"))

        final = await wait_until(TOTAL, "all indexed or failed")
        assert final == {Stage.INDEXED: TOTAL}, final

        assets = await all_assets(services, tenant.id)
        assert len(assets) == TOTAL
        assert len({a.sha256 for a in assets}) == TOTAL
        assert {a.id for a in assets} == set(ids)
        assert await services.index.count(tenant.id) == TOTAL
        # The redelivered copies of the killed worker's jobs are consumed too: the queue drains.
        deadline = time.monotonic() + 3 * LEASE_SECONDS + 10
        while (pending := await services.queue.pending()) > 0:
            assert time.monotonic() < deadline, f"{pending} jobs still queued"
            await asyncio.sleep(0.2)
    finally:
        await services.aclose()
        codes = [stop_worker(proc) if proc.poll() is None else proc.returncode for proc in workers]
    assert codes == [-9, 0, 0], codes  # the survivors stop cleanly on SIGTERM
    print(f"indexed at kill: {before.get(Stage.INDEXED, 0)}..{at_kill.get(Stage.INDEXED, 0)} of {TOTAL}")

    verify = await asyncio.to_thread(cli.run, "verify", "--json", check=False)
    report = json.loads(verify.stdout)
    assert verify.returncode == 0, (report, verify.stderr)
    assert report["drift"] == 0 and report["assets"] == report["documents"] == TOTAL, report
