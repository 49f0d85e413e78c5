"""bench/web.py keeps running: a tiny archive, two timed navigations, the summary line it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).parents[2]


def test_web_bench_smoke_run(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.web",
            "--assets",
            "300",
            "--runs",
            "2",
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    found = re.fullmatch(
        r"web assets=300 ready_p50_ms=(\d+) ready_p95_ms=(\d+) viewport_p95_ms=(\d+) cold_ready_ms=(\d+)",
        last,
    )
    assert found, run.stdout
    ready_p50, ready_p95, viewport_p95, cold = map(int, found.groups())
    assert 0 < ready_p50 <= ready_p95 <= viewport_p95
    assert cold > 0
