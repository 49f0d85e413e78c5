"""Faces too small for a whole-image scan without upsampling are still found: in the heads of the people
the object detector sees (face_regions), on real photos; and the head-region geometry on its own."""

from __future__ import annotations

import pytest
from PIL import Image
from skimage import data as samples

from catalog.domain.model import BoundingBox, Face
from indexer.recognizers.local.face_regions import (
    ALIGN_PX,
    head_region,
    regions_to_rescan,
    same_face,
    to_pixels,
)
from indexer.recognizers.local.faces import DlibFaceRecognizer
from indexer.recognizers.local.objects import CenterNetDetector
from indexer.recognizers.local.people import people_from_objects

WHOLE = DlibFaceRecognizer(upsample=1)  # what the faces analyzer ran before: every face ≥ ≈ 40 px
FOCUSED = DlibFaceRecognizer(upsample=0, person_upsample=1)  # what it runs now
CHEAP = DlibFaceRecognizer(upsample=0, person_upsample=0)  # no second look at the heads


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> CenterNetDetector:
    model = CenterNetDetector(tmp_path_factory.mktemp("models"))
    model.load()
    return model


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def two_people(scale: float) -> Image.Image:
    """The astronaut and the cameraman side by side in front of the coffee photo, scaled by `scale`."""
    canvas = photo("coffee").resize((1024, 640))
    for name, left in (("astronaut", 100), ("camera", 600)):
        person = photo(name).resize((round(512 * scale),) * 2, Image.Resampling.LANCZOS)
        canvas.paste(person, (left, canvas.height - person.height))
    return canvas


def people_in(detector: CenterNetDetector, image: Image.Image) -> list[BoundingBox]:
    return [p.box for p in people_from_objects(detector.detect(image), min_confidence=25.0)]


def same_faces(a: list[Face], b: list[Face], width: int, height: int) -> bool:
    """One to one, each face of `a` is a face of `b` (centre inside the other's box)."""
    rects_a = sorted(to_pixels(f.box, width, height) for f in a)
    rects_b = sorted(to_pixels(f.box, width, height) for f in b)
    return len(rects_a) == len(rects_b) and all(
        same_face(x, y) for x, y in zip(rects_a, rects_b, strict=True)
    )


def face_widths(faces: list[Face], width: int) -> list[int]:
    return sorted(round(f.box.width * width) for f in faces)


def test_the_cameramans_53_px_face_is_found_in_his_head(detector: CenterNetDetector) -> None:
    image = photo("camera")
    assert CHEAP.detect(image) == []  # too small for a scan without upsampling
    people = people_in(detector, image)
    focused = FOCUSED.detect(image, people=people)
    [width] = face_widths(focused, image.width)
    assert width < 70  # a scan without upsampling finds faces ≥ ≈ 80 px
    assert same_faces(focused, WHOLE.detect(image), *image.size)
    assert FOCUSED.detect(image) == []  # no people given: no second look


def test_a_45_px_face_beside_a_large_one(detector: CenterNetDetector) -> None:
    image = two_people(0.75)  # the astronaut's face ≈ 73 px, the cameraman's ≈ 45 px
    whole = WHOLE.detect(image)
    assert len(whole) == 2
    assert len(CHEAP.detect(image)) == 1
    focused = FOCUSED.detect(image, people=people_in(detector, image))
    assert same_faces(focused, whole, *image.size)
    assert min(face_widths(focused, image.width)) < 50


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_the_same_faces_as_the_whole_upsampled_scan(detector: CenterNetDetector, name: str) -> None:
    image = photo(name)
    assert same_faces(
        FOCUSED.detect(image, people=people_in(detector, image)), WHOLE.detect(image), *image.size
    )


def test_a_face_found_in_two_overlapping_head_regions_counts_once(detector: CenterNetDetector) -> None:
    image = photo("camera")
    [person] = people_in(detector, image)
    nudged = BoundingBox(person.left + 0.02, person.top, person.width, person.height)
    assert len(FOCUSED.detect(image, people=[person, nudged, person])) == 1


def test_people_are_looked_for_only_where_the_whole_scan_found_no_face(detector: CenterNetDetector) -> None:
    """A video's keyframe (keyframe_faces): the person search has a cost of its own (the detector), so it
    runs only when the whole scan at upsample 1 found no face; upsample 2 in the heads finds ≈ 20 px."""
    keyframe = DlibFaceRecognizer(upsample=1, person_upsample=2)
    asked: list[Image.Image] = []

    def find(image: Image.Image) -> list[BoundingBox]:
        asked.append(image)
        return people_in(detector, image)

    large = photo("astronaut").resize((360, 360), Image.Resampling.LANCZOS)  # a ≈ 63 px face
    assert len(keyframe.detect(large, find_people=lambda: find(large))) == 1 and asked == []
    small = Image.new("RGB", (640, 360), (70, 74, 80))
    small.paste(photo("camera").resize((216, 216), Image.Resampling.LANCZOS), (212, 144))  # ≈ 23 px
    assert WHOLE.detect(small) == []
    [face] = keyframe.detect(small, find_people=lambda: find(small))
    assert asked == [small] and face_widths([face], small.width) == [pytest.approx(23, abs=4)]


# the geometry, on hand-made boxes (a 1000×800 image)


def test_head_region_is_the_upper_half_padded_and_on_the_grid() -> None:
    region = head_region((203, 101, 403, 501), 1000, 800)  # a 200×400 px person
    assert region is not None
    x0, y0, x1, y1 = region
    assert x0 % ALIGN_PX == 0 and y0 % ALIGN_PX == 0
    assert 160 <= x0 <= 183 and x1 == 423  # a tenth of the width either side, at least 16 px
    assert 48 <= y0 <= 61 and y1 == 101 + 200 + 16  # a tenth of the height above, half of it below
    assert head_region((0, 0, 10, 20), 1000, 800) is not None  # padding makes a small box scannable
    assert head_region((0, 0, 20, 20), 20, 20) is None  # too small an image for a face at upsample 1


def test_a_person_whose_face_was_found_is_not_scanned_again() -> None:
    person = BoundingBox(0.2, 0.1, 0.2, 0.5)  # 200×400 px at (200, 80)
    own_face = (270, 100, 330, 160)  # centred in the head
    beside = (380, 100, 420, 140)  # a neighbour's, at the edge of the region
    below = (270, 400, 330, 460)  # a face low in the box: not its head
    assert regions_to_rescan([person], [own_face], 1000, 800) == []
    assert len(regions_to_rescan([person], [beside], 1000, 800)) == 1
    assert len(regions_to_rescan([person], [below], 1000, 800)) == 1
    assert len(regions_to_rescan([person, person], [], 1000, 800)) == 1  # one region scanned once


def test_regions_go_largest_person_first_and_stay_inside_the_image() -> None:
    small, large = BoundingBox(0.9, 0.0, 0.1, 0.2), BoundingBox(0.0, 0.0, 0.5, 0.9)
    regions = regions_to_rescan([small, large], [], 1000, 800)
    assert regions[0][0] == 0 and regions[1][0] > 800
    assert all(0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 800 for x0, y0, x1, y1 in regions)
