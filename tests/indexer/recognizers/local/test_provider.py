"""The local provider's objects, people and faces analyzers share one object detector run per image."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from skimage import data as samples

from catalog.domain.model import Findings
from indexer.cpu import CpuPool
from indexer.recognizers.local.objects import CenterNetDetector
from indexer.recognizers.local.provider import LocalConfig, local_provider
from indexer.recognizers.ports import AnalysisInput, Analyzer


@pytest.fixture
def detector_runs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each real detector run's min_confidence (a spy on the real method, which still runs)."""
    runs: list[float] = []
    real = CenterNetDetector.detect

    def spy(self: CenterNetDetector, image: Image.Image, **kwargs: Any) -> Any:
        runs.append(kwargs.get("min_confidence", 25.0))
        return real(self, image, **kwargs)

    monkeypatch.setattr(CenterNetDetector, "detect", spy)
    return runs


@pytest.fixture
def analyzers(tmp_path: Path) -> Iterator[dict[str, Analyzer]]:
    cpu = CpuPool(2)
    parts = local_provider(LocalConfig(tmp_path / "models", 50.0, 20), cpu)
    yield {name: parts.factories[(name, "local")]() for name in ("objects", "people", "faces")}
    cpu.close()


def astronaut() -> AnalysisInput:
    image = Image.fromarray(samples.astronaut()).convert("RGB")
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG")
    return AnalysisInput(image=image, jpeg=jpeg.getvalue(), original_key="originals/t/a")


async def analyze_all(analyzers: dict[str, Analyzer], item: AnalysisInput, **params: Any) -> list[Findings]:
    return await asyncio.gather(*(a.analyze(item, params.get(n, {})) for n, a in analyzers.items()))


async def test_one_detector_run_feeds_objects_people_and_faces(
    analyzers: dict[str, Analyzer], detector_runs: list[float]
) -> None:
    objects, people, faces = await analyze_all(analyzers, astronaut())
    assert detector_runs == [25.0]  # once, at the decoder's floor
    person = next(label for label in objects.labels if label.name == "Person")
    [body] = people.people
    assert body.box == person.instances[0].box and body.confidence == person.confidence
    [face] = faces.faces
    assert body.box.left < face.box.left < body.box.left + body.box.width
    await analyze_all(analyzers, astronaut())
    assert detector_runs == [25.0, 25.0]  # another image (input): another run


async def test_thresholds_filter_the_shared_run(
    analyzers: dict[str, Analyzer], detector_runs: list[float]
) -> None:
    item = astronaut()
    sure = await analyzers["people"].analyze(item, {"min_confidence": 99.0})
    assert sure.people == () and detector_runs == [25.0]
    unsure = await analyzers["objects"].analyze(item, {"min_confidence": 10.0})  # below the floor: own run
    assert detector_runs == [25.0, 10.0]
    assert len(unsure.labels) >= len((await analyzers["objects"].analyze(item, {})).labels)
    assert detector_runs == [25.0, 10.0]


async def test_objects_keep_weak_boxes_only_of_classes_that_earn_them(
    analyzers: dict[str, Analyzer], tmp_path: Path
) -> None:
    """The moon's Kite 40 and the rocket's Clock 35 go (calibrated floors: 50); Person is not floored."""
    detector = CenterNetDetector(tmp_path / "models")  # the provider's model cache
    assert "Person" not in detector.class_floors
    for name, gone in (("moon", "Kite"), ("rocket", "Clock")):
        item = photo_input(name)
        assert gone in {o.name for o in detector.detect(item.image)}  # the detector's guess this is about
        found = await analyzers["objects"].analyze(item, {})
        assert gone not in {lb.name for lb in found.labels}


def photo_input(name: str) -> AnalysisInput:
    image = Image.fromarray(getattr(samples, name)()).convert("RGB")
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG")
    return AnalysisInput(image=image, jpeg=jpeg.getvalue(), original_key=f"originals/t/{name}")


async def test_faces_parameters(analyzers: dict[str, Analyzer], detector_runs: list[float]) -> None:
    faces = analyzers["faces"]
    assert dict(faces.defaults) == {"upsample": 0, "person_upsample": 1, "min_confidence": 0.0}
    whole = await faces.analyze(astronaut(), {"upsample": 1})  # a whole upsampled scan needs no people
    assert len(whole.faces) == 1 and detector_runs == []
    assert (await faces.analyze(astronaut(), {"min_confidence": 100.0})).faces == ()


async def test_text_parameters_reach_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.recognizers.local.text import RapidOcrReader

    calls: list[dict[str, Any]] = []
    real = RapidOcrReader.read

    def spy(self: RapidOcrReader, image: Image.Image, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(self, image, **kwargs)

    monkeypatch.setattr(RapidOcrReader, "read", spy)
    cpu = CpuPool(1)
    try:
        text = local_provider(LocalConfig(tmp_path / "models", 50.0, 20), cpu).factories[("text", "local")]()
        assert dict(text.defaults) == {
            "min_confidence": 50.0,
            "short_line_confidence": 90.0,
            "thorough": False,
        }
        await text.analyze(astronaut(), {})
        await text.analyze(astronaut(), {"thorough": True, "short_line_confidence": 0.0})
    finally:
        cpu.close()
    assert calls == [
        {"min_confidence": 50.0, "short_line_confidence": 90.0, "thorough": False},
        {"min_confidence": 50.0, "short_line_confidence": 0.0, "thorough": True},
    ]
