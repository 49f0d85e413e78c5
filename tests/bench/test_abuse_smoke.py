"""bench/abuse.py keeps running: a short loopback run, every abusive request answered as intended."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_abuse_bench_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.abuse", "--seconds", "3", "--abusers", "2"],
        capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip
    out = done.stdout
    assert "alone:" in out and "with 2 abusive clients:" in out and "abuse p95_ms=" in out, out
    lines = {line.strip().split("  ")[0]: line for line in out.splitlines() if line.startswith("  ")}
    # refused by size before parsing (a closed socket is fine: the server stops reading the rest)
    for kind in ("12 MB list (300k)", "4 MB list (100k)", "1 MB of tiny values", "5,001 asset IDs"):
        assert "200" not in lines[kind] and "413" in lines[kind], lines[kind]
    for kind in ("1,500 duplicate fields", "99 thresholds (allowed)"):  # answered with a GraphQL error
        assert "200:" in lines[kind], lines[kind]
