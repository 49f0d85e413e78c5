"""The OpenCV HOG people detector on real photos (scikit-image's samples), synthetic edge cases, and the
pure parts (suppression, confidence, people from faces) on hand-made boxes.

No photo of a standing, full-length person ships offline (the astronaut is a half-length portrait, the
cameraman bends over his camera), so HOG's true positives are not tested here; its known misses are.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from skimage import data as samples

from catalog.domain.model import BoundingBox, Face, Instance
from indexer.recognizers.local.faces import DlibFaceRecognizer
from indexer.recognizers.local.people import (
    HogPeopleDetector,
    merge_with_faces,
    non_max_suppression,
    people_from_faces,
    person_confidence,
)


@pytest.fixture(scope="module")
def detector() -> HogPeopleDetector:
    return HogPeopleDetector()


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def center_inside(box: BoundingBox, inner: BoundingBox) -> bool:
    x, y = inner.left + inner.width / 2, inner.top + inner.height / 2
    return box.left <= x <= box.left + box.width and box.top <= y <= box.top + box.height


def well_formed(people: list[Instance]) -> bool:
    return all(
        0 <= p.box.left <= 1
        and 0 <= p.box.top <= 1
        and p.box.width > 0
        and p.box.height > 0
        and p.box.left + p.box.width <= 1
        and p.box.top + p.box.height <= 1
        and 0 <= p.confidence <= 100
        and type(p.box.left) is float
        and type(p.confidence) is float
        for p in people
    )


def face_at(left: float, top: float, size: float, confidence: float = 99.0) -> Face:
    return Face(box=BoundingBox(left, top, size, size), confidence=confidence)


def test_identity(detector: HogPeopleDetector) -> None:
    assert detector.name == "opencv-hog-people"
    assert detector.version.endswith("+default-people-detector")
    assert detector.parameters["max_side"] == 640


def test_astronaut_is_a_person_through_her_face(detector: HogPeopleDetector) -> None:
    astronaut = photo("astronaut")
    faces = DlibFaceRecognizer().detect(astronaut)
    people = detector.detect(astronaut, faces=faces)
    assert well_formed(people)
    holding_her_face = [p for p in people if center_inside(p.box, faces[0].box)]
    assert len(holding_her_face) == 1
    assert holding_her_face[0].confidence == faces[0].confidence
    assert people[0] == holding_her_face[0]  # the most confident person


def test_hog_alone_misses_portraits(detector: HogPeopleDetector) -> None:
    # known limitation: the pedestrian window wants a whole standing body; what it finds on the
    # astronaut is her helmet (lower right), not her
    her_face = BoundingBox(0.34, 0.15, 0.18, 0.18)
    people = detector.detect(photo("astronaut"))
    assert well_formed(people)
    assert not any(center_inside(p.box, her_face) for p in people)
    assert detector.detect(photo("camera")) == []


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_no_people(detector: HogPeopleDetector, name: str) -> None:
    assert detector.detect(photo(name)) == []


@pytest.mark.parametrize("size", [(1, 1), (0, 0), (1024, 10), (10, 1024), (63, 128), (64, 127), (640, 100)])
def test_images_smaller_than_the_window(detector: HogPeopleDetector, size: tuple[int, int]) -> None:
    # OpenCV's HOG corrupts the heap on these: they must never reach it (a crash would kill pytest)
    assert detector.detect(Image.new("RGB", size, (90, 90, 90))) == []


def test_any_mode_and_size(detector: HogPeopleDetector) -> None:
    astronaut = photo("astronaut")
    gray = detector.detect(astronaut.convert("L"))
    big = detector.detect(astronaut.resize((1536, 1536), Image.Resampling.BILINEAR))  # scaled to 640
    assert well_formed(gray) and well_formed(big)
    assert detector.detect(Image.new("RGB", (64, 128))) == []  # exactly the window: runs, finds nothing


def test_one_detector_serves_several_threads(detector: HogPeopleDetector) -> None:
    images = [photo("astronaut"), photo("coffee"), photo("rocket"), photo("astronaut").rotate(3)]
    serial = [detector.detect(image) for image in images]
    with ThreadPoolExecutor(2) as pool:
        parallel = list(pool.map(detector.detect, images))
    assert parallel == serial


def test_constructor_checks_its_arguments() -> None:
    for bad in ({"max_side": 100}, {"win_stride": 6}, {"scale": 1.0}, {"padding": 4}, {"nms_overlap": 0}):
        with pytest.raises(ValueError):
            HogPeopleDetector(**bad)


def test_person_confidence_mapping() -> None:
    assert [person_confidence(w) for w in (0.0, 0.5, 1.0, 2.0)] == [50, 81.76, 95.26, 99.75]
    assert person_confidence(-1e6) == 0 and person_confidence(1e6) == 100


def test_non_max_suppression() -> None:
    boxes = np.array(
        [
            [10, 10, 64, 128],  # a person
            [14, 12, 64, 128],  # the same person, a step to the side (IoU ≈ 0.85)
            [12, 14, 40, 80],  # the same person's upper half at a smaller scale (inside)
            [300, 10, 64, 128],  # someone else
        ],
        dtype=np.float64,
    )
    scores = np.array([0.9, 1.2, 0.4, 0.3])
    assert non_max_suppression(boxes, scores, 0.5) == [1, 3]
    assert non_max_suppression(boxes[:0], scores[:0], 0.5) == []
    # equal scores: decided by position, whatever order the hits came in
    tied = np.array([[50, 0, 64, 128], [0, 0, 64, 128]], dtype=np.float64)
    assert non_max_suppression(tied, np.array([1.0, 1.0]), 0.5) == [1, 0]
    assert non_max_suppression(tied[::-1].copy(), np.array([1.0, 1.0]), 0.5) == [0, 1]


def test_people_from_faces_stay_inside_the_image() -> None:
    (person,) = people_from_faces([face_at(0.9, 0.05, 0.2, confidence=88.0)])
    box = person.box
    assert box.left == pytest.approx(0.7) and box.left + box.width == 1.0
    assert box.top == 0.0 and box.top + box.height == 1.0
    assert person.confidence == 88.0


def test_merge_with_faces() -> None:
    pedestrian = Instance(BoundingBox(0.1, 0.1, 0.2, 0.8), confidence=70.0)
    empty = Instance(BoundingBox(0.6, 0.1, 0.2, 0.8), confidence=60.0)
    in_pedestrian = face_at(0.17, 0.12, 0.06, confidence=95.0)
    elsewhere = face_at(0.45, 0.40, 0.05, confidence=90.0)
    merged = merge_with_faces([pedestrian, empty], [in_pedestrian, elsewhere])
    assert merged[0] == Instance(pedestrian.box, 95.0)  # the face's confidence, HOG's box
    assert merged[1].confidence == 90.0 and center_inside(merged[1].box, elsewhere.box)
    assert merged[2] == empty
    assert len(merged) == 3
    # a face too big to be the face of the person in a HOG box is a person of its own
    close_up = face_at(0.1, 0.1, 0.5)
    assert len(merge_with_faces([pedestrian], [close_up])) == 2
    assert merge_with_faces([], []) == []
