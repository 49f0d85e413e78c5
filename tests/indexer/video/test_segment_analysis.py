"""A shot's keyframes through the tenant's segment analyzers (a fake object detector at the Analyzer port):
what the detector is sure of in a shot makes the classifier's tentative labels of that shot give way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from catalog.domain.model import BoundingBox, Findings, Instance, Label
from catalog.domain.video.findings import VideoFindings
from catalog.domain.video.media import VideoInfo
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


class Guesser(Detector):
    """The detector's weak guesses on a cat shot: a lone Dog 39 box (as the real one gave on scikit-image's
    chelsea), with its parent labels, a Bed 30 box of nearly the whole frame and a small Cup 37."""

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        dog = Instance(BoundingBox(0.1, 0.1, 0.6, 0.7), 39.0)
        bed = Instance(BoundingBox(0.0, 0.05, 1.0, 0.95), 30.0)
        cup = Instance(BoundingBox(0.6, 0.6, 0.2, 0.2), 37.0)
        return Findings(
            labels=(
                Label("Dog", 39.0, ("Canine", "Carnivore", "Mammal", "Animal"), (dog,)),
                Label("Canine", 39.0, ("Carnivore", "Mammal", "Animal")),
                Label("Bed", 30.0, ("Furniture",), (bed,)),
                Label("Cup", 37.0, ("Crockery",), (cup,)),
                Label("Crockery", 37.0),
            )
        )


async def test_a_shots_objects_are_named_by_its_labels_as_a_photos_boxes_are(tmp_path: Path) -> None:
    """labels.detections' rules, as for a photo: the lone Dog box contradicts the classifier's sure Cat (one
    family: Carnivore) and is the cat's; a weak box of the whole frame is no finding; a weak box of
    another family (the Cup) stays, as it would on a photo. The video's labels follow."""
    cat = Label("Cat", 94.0, ("Feline", "Carnivore", "Mammal", "Animal"))
    cpu = CpuPool(1)
    try:
        stills = [[still(tmp_path / "a.jpg", 0), still(tmp_path / "b.jpg", 0)]]
        (out,) = await analyze_segments([shot(0, cat)], stills, [SegmentAnalyzer(Guesser(), {})], cpu, 50.0)
    finally:
        cpu.close()
    assert [(lb.name, lb.confidence) for lb in out.objects] == [
        ("Cat", 94.0),
        ("Crockery", 37.0),
        ("Cup", 37.0),
    ]
    assert all(not lb.instances for lb in out.objects)  # a segment keeps names, not boxes
    info = VideoInfo("video/mp4", "mp4", "h264", 64, 36, 1.0, "25", 25, False)
    names = [lb.name for lb in VideoFindings(info, (out,)).labels()]
    assert "Dog" not in names and "Canine" not in names and "Bed" not in names and "Cup" in names
