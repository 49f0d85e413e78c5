"""bench/review.py keeps running: a smoke run over a few tasks (the Chromium page round, the server round)."""

from __future__ import annotations

import re

import pytest

from bench import review

pytestmark = [pytest.mark.slow, pytest.mark.browser]


async def test_review_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    await review.main(tasks=12, reviewers=3, browser=True)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    pattern = (
        r"review tasks=12 key_p50_ms=\S+ key_p95_ms=\S+ answers=(\d+) reviewers=3 answers_per_s=(\d+) "
        r"server_cpu_s=\S+ answers_per_cpu_s=\S+ load=\S+"
    )
    found = re.fullmatch(pattern, line)
    assert found is not None, line
    assert int(found.group(1)) == 36  # every task got its three answers, each once
    assert int(found.group(2)) > 0
    assert "key_p95_ms=nan" not in line  # the page round measured its key presses
