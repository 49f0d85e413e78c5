"""The test clips are the same bytes in every process: their noise must not depend on str hashing
(randomised per process), or every run labels a different clip (Missile 55 % one run, 56 % the next)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from bench.clips import Shot, make_clip

SHOTS = "[Shot('chelsea', 6), Shot('rocket', 6, dissolve_in=3)]"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_clip_is_the_same_bytes_in_another_process(tmp_path: Path) -> None:
    here = make_clip(tmp_path / "here.mp4", [Shot("chelsea", 6), Shot("rocket", 6, dissolve_in=3)])
    there = tmp_path / "there.mp4"
    code = (
        "from pathlib import Path; from bench.clips import Shot, make_clip; "
        f"make_clip(Path({str(there)!r}), {SHOTS})"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root, timeout=120)
    assert _digest(here.path) == _digest(there)
