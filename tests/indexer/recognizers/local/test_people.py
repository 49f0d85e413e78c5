"""Local people: the object detector's Person boxes, on real photos (scikit-image's samples) and on
hand-made detections."""

from __future__ import annotations

import pytest
from PIL import Image
from skimage import data as samples

from catalog.domain.model import BoundingBox
from indexer.recognizers.local.faces import DlibFaceRecognizer
from indexer.recognizers.local.objects import CenterNetDetector, DetectedObject
from indexer.recognizers.local.people import DEFAULT_MIN_CONFIDENCE, people_from_objects


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> CenterNetDetector:
    model = CenterNetDetector(tmp_path_factory.mktemp("models"))
    model.load()
    return model


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def centre_inside(box: BoundingBox, inner: BoundingBox) -> bool:
    x, y = inner.left + inner.width / 2, inner.top + inner.height / 2
    return box.left <= x <= box.left + box.width and box.top <= y <= box.top + box.height


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_portraits_are_people(detector: CenterNetDetector, name: str) -> None:
    # OpenCV's HOG pedestrian detector, used before, found neither: it wants a whole standing body
    image = photo(name)
    [person] = people_from_objects(detector.detect(image), min_confidence=DEFAULT_MIN_CONFIDENCE)
    [face] = DlibFaceRecognizer().detect(image)
    assert centre_inside(person.box, face.box)
    assert DEFAULT_MIN_CONFIDENCE <= person.confidence < 100
    assert person.box.height > 0.8  # the whole figure, not the face


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_no_people(detector: CenterNetDetector, name: str) -> None:
    assert people_from_objects(detector.detect(photo(name)), min_confidence=DEFAULT_MIN_CONFIDENCE) == ()


def found(name: str, confidence: float, left: float = 0.1) -> DetectedObject:
    return DetectedObject(name, ("Human",), confidence, BoundingBox(left, 0.2, 0.3, 0.6))


def test_people_are_the_person_detections_most_confident_first() -> None:
    objects = [found("Kite", 90), found("Person", 55, 0.5), found("Person", 80), found("Person", 40)]
    people = people_from_objects(objects, min_confidence=50)
    assert [(p.confidence, p.box.left) for p in people] == [(80, 0.1), (55, 0.5)]
    assert people_from_objects(objects, min_confidence=90) == ()
    assert people_from_objects([], min_confidence=0) == ()
