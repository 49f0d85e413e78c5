"""bench/abuse.py keeps running: a short loopback run, every abusive request answered as intended."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.abuse import abusive_bodies

REFUSED = (
    "12 MB list (300k)",
    "4 MB list (100k)",
    "1 MB of tiny values",
    "5,001 asset IDs",
    "20k-char comment",
)


@pytest.mark.slow
def test_abuse_bench_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.abuse", "--seconds", "4", "--abusers", "2"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    out = done.stdout
    assert "alone:" in out and "with 2 abusive clients:" in out and "abuse p95_ms=" in out, out
    statuses: dict[str, dict[str, int]] = {}
    for line in out.splitlines():
        for kind in abusive_bodies():
            if line.strip().startswith(kind):
                rest = line.strip()[len(kind) :]
                found = re.findall(r"(\d{3}|closed|unfinished): (\d+)", rest)
                # "unfinished": in flight when the run ended (under load, any kind may be)
                statuses[kind] = {s: int(c) for s, c in found if s != "unfinished"}
    assert sum(sum(s.values()) for s in statuses.values()) >= 4, out  # the abuse ran (slowly, under load)
    for kind in REFUSED:  # refused by size before parsing (or the socket closed on the rest of the body)
        assert "200" not in statuses.get(kind, {}), (kind, statuses)
    for kind in ("1,500 duplicate fields", "99 thresholds (allowed)"):  # answered with a GraphQL error
        assert set(statuses.get(kind, {})) <= {"200"}, (kind, statuses)
