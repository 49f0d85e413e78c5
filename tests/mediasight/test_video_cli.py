"""`mediasight video FILE`: a user's clip in, exports and renditions out; refusals exit 2 with the reason."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from typer.testing import CliRunner

from bench.clips import Shot, make_clip
from mediasight.cli import app

pytestmark = pytest.mark.video


def test_video_command_writes_exports_and_renditions(tmp_path: Path) -> None:
    clip = make_clip(
        tmp_path / "user.mov",
        [Shot("colorwheel", 40), Shot("chelsea", 50, pan=True), Shot("astronaut", 45, dissolve_in=10)],
        rate=Fraction(30000, 1001),
        container="mov",
        audio=True,
    )
    out = tmp_path / "out"
    run = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "data"), "video", str(clip.path), "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    assert {p.name for p in out.iterdir()} == {
        "segments.json",
        "shots.vtt",
        "shots.srt",
        "shots.edl",
        "poster.jpg",
        "strip.jpg",
        "strip.vtt",
        "proxy.mp4",
    }
    segments = json.loads((out / "segments.json").read_text())["segments"]
    assert [s["startFrame"] for s in segments[1:]] == pytest.approx([40, 94], abs=2)
    assert "Cat" in {lb["name"] for lb in segments[1]["labels"]}
    timeline = otio.adapters.read_from_string((out / "shots.edl").read_text(), "cmx_3600", rate=30000 / 1001)
    assert [c.source_range.start_time.to_frames() for c in timeline.find_clips()] == [
        s["startFrame"] for s in segments
    ]


def test_refused_files_exit_2_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    run = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "data"), "video", str(tmp_path / "empty.mp4")]
    )
    assert run.exit_code == 2
    assert "refused (empty)" in run.output
