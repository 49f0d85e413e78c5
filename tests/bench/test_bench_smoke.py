"""Every benchmark in bench/ still runs: each once, as `python -m bench.NAME`, with tiny sizes.

These check that a bench starts, finishes and prints its summary line, not its figures (those need
full sizes and a quiet machine; see README).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# bench module → (tiny arguments, the summary line it must end with)
BENCHES = {
    "ingest": (
        ["--images", "2", "--width", "320", "--height", "240", "--rounds", "1"],
        r"^ingest images=2 .* pool_work_ratio=[0-9.]+ ",
    ),
    "analyzers": (["--images", "2", "--width", "640", "--height", "480"], r"^analyzers images=2 "),
    "reprocess": (["--images", "2", "--rounds", "1"], r"^reprocess images=2 "),
    "search": (["--assets", "200", "--tenants", "2", "--runs", "3"], r"^search assets=200 "),
    "outdated": (["--assets", "300"], r"^outdated assets=300 census_s="),
    "concepts": (
        ["--examples", "60", "--vectors", "500", "--crops", "1", "--rounds", "1"],
        r"^concepts examples=60 ",
    ),
    "concept_scores": (
        ["--vectors", "100", "--rounds", "1"],
        r"^concept_scores catalog=dynamodb vectors=100 ",
    ),
    "dynamodb_writes": (
        ["--items", "60", "--partitions", "7", "--rounds", "1"],
        r"^dynamodb_writes items=60 ",
    ),
    "meaning": (["--max-photos", "3"], r"^meaning queries=\d+ "),
    "tenant_delete": (["--assets", "20"], r"^tenant_delete assets=20 "),
    "backfill": (
        ["--images", "4", "--rounds", "1", "--workers", "1", "--concurrency", "2"],
        r"^backfill images=4 ",
    ),
}


# modules of bench/ that are not benches themselves
HELPERS = {"__init__", "clips"}  # clips: test videos made from photos (bench/video.py and the tests use it)


def test_every_bench_is_covered() -> None:
    modules = {p.stem for p in (REPO / "bench").glob("*.py") if p.stem not in HELPERS}
    # a bench with a smoke test of its own (tests/bench/test_<name>_bench.py) needs no entry here
    own = {m for m in modules if (REPO / "tests" / "bench" / f"test_{m}_bench.py").is_file()}
    assert modules - own == set(BENCHES), "add the new bench to BENCHES with tiny arguments"


@pytest.mark.bench
@pytest.mark.parametrize("name", sorted(BENCHES))
def test_bench_runs(name: str) -> None:
    args, summary = BENCHES[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIASIGHT_", "AWS_"))}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert re.match(summary, last), done.stdout[-2000:]
