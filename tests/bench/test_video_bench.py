"""bench/video.py keeps running: a smoke run on a tiny clip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.video


def test_video_bench_smoke(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "bench.video", "--seconds", "2", "--size", "160x90", "--dir", str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("video seconds=2.0 size=160x90") and "analysis_x=" in last, last
