"""kill -9 in the middle of `ingest --wait`, then again: every asset ends indexed, none twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

from mediasight.settings import Settings
from tests.e2e.conftest import Cli, new_data_dir
from tests.e2e.photos import write_photo

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_kill_9_mid_ingest_loses_and_duplicates_nothing(tmp_path: Path, model_cache: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    total = 24
    for i in range(total):
        write_photo(folder / f"img_{i:02d}.jpg", PHOTOS[i % len(PHOTOS)], size=(640, 480), seed=i)
    data = new_data_dir(tmp_path, model_cache)
    cli = Cli(data)
    cli.run("tenant", "create", "acme")
    catalog = data / "catalog.db"

    proc = cli.start("ingest", str(folder), "--tenant", "acme", "--wait")
    deadline = time.monotonic() + 120
    while not catalog.exists() or count(catalog, "SELECT COUNT(*) FROM assets WHERE status = 'indexed'") < 3:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    unfinished = count(catalog, "SELECT COUNT(*) FROM assets WHERE status != 'indexed'")
    registered = count(catalog, "SELECT COUNT(*) FROM assets")
    assert unfinished > 0 or registered < total, "the kill came too late to test anything"

    rerun = cli.run("ingest", str(folder), "--tenant", "acme", "--wait", "--json")
    statuses = [json.loads(line)["status"] for line in rerun.stdout.splitlines()]
    assert len(statuses) == total and set(statuses) <= {"new", "duplicate"}
    assert statuses.count("duplicate") == registered

    assert count(catalog, "SELECT COUNT(*) FROM assets") == total
    assert count(catalog, "SELECT COUNT(DISTINCT sha256) FROM assets") == total
    assert count(catalog, "SELECT COUNT(*) FROM assets WHERE status = 'indexed'") == total
    per_asset = len(Settings().analyzer_names) + 1  # every image analyzer, then the metadata embedding
    # one current run per analyzer and asset (a killed analysis may have left an extra run in the history)
    assert count(catalog, "SELECT COUNT(*) FROM current_runs") == total * per_asset
    assert (
        count(catalog, "SELECT COUNT(DISTINCT asset_id) FROM current_runs WHERE analyzer = 'embedding'")
        == total
    )
    assert count(catalog, "SELECT COUNT(*) FROM runs") >= total * per_asset
    search = data / "search.db"
    assert count(search, "SELECT COUNT(*) FROM docs") == total
    assert count(search, "SELECT COUNT(*) FROM docs_fts") == total
    originals = [p for p in (data / "blobs" / "originals").rglob("*") if p.is_file()]
    assert len(originals) == total
