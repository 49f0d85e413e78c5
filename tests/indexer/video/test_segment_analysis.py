"""A shot's keyframes through the tenant's segment analyzers (a fake object detector at the Analyzer port):
what the detector is sure of in a shot makes the classifier's tentative labels of that shot give way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from catalog.domain.model import Findings, Label
from catalog.domain.video.segments import Segment
from indexer.cpu import CpuPool
from indexer.recognizers.ports import AnalysisInput
from indexer.video.segment_analysis import SegmentAnalyzer, analyze_segments

MISSILE = Label("Missile", 41.0, ("Rocket", "Weapon"))
CAT = Label("Cat", 94.0, ("Animal",))


class Detector:
    """Objects whose confidence is the keyframe's red level in percent (the test paints the stills)."""

    name = "objects"
    provider = "local"
    model_name = "fake-detector"
    model_version = "1"
    defaults: Mapping[str, float | int | str | bool] = {}

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        red = item.image.getpixel((0, 0))[0]  # type: ignore[index]
        return Findings(labels=(Label("Person", round(red / 255 * 100, 1)),))


def still(path: Path, red: int) -> Path:
    Image.new("RGB", (64, 36), (red, 0, 0)).save(path, quality=100)
    return path


def shot(index: int, *labels: Label) -> Segment:
    return Segment(index, index * 10, index * 10 + 10, index, index + 1, "", "", labels=labels)


async def test_an_object_the_detector_is_sure_of_replaces_a_shots_tentative_labels(tmp_path: Path) -> None:
    cpu = CpuPool(1)
    try:
        segments = [shot(0, MISSILE), shot(1, MISSILE), shot(2, CAT)]
        stills = [
            [still(tmp_path / "a.jpg", 255)],  # a person the detector is sure of
            [still(tmp_path / "b.jpg", 80), still(tmp_path / "c.jpg", 100)],  # a guess (31–39 %)
            [still(tmp_path / "d.jpg", 255)],
        ]
        out = await analyze_segments(segments, stills, [SegmentAnalyzer(Detector(), {})], cpu, 50.0)
    finally:
        cpu.close()
    assert [[lb.name for lb in s.objects] for s in out] == [["Person"], ["Person"], ["Person"]]
    assert out[0].labels == ()  # the person is sure: the tentative Missile gives way
    assert out[1].labels == (MISSILE,)  # the detector only guessed: the shot stays a Missile
    assert out[2].labels == (CAT,)  # sure labels stay whatever else is found
