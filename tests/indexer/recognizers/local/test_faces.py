"""The dlib face recognizer on real photos (scikit-image's samples) and synthetic edge cases.

Real faces available offline: the astronaut (Eileen Collins), the cameraman, and scikit-image's LFW subset
(100 real faces of other people, but only 25×25 px, so they are enlarged before detection). Several photos
of one person are made by transforming the astronaut photo.
"""

from __future__ import annotations

import io
import math
import sys
from concurrent.futures import ThreadPoolExecutor

import dlib
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps
from skimage import data as samples

from catalog.domain.faces.identity import SAME_PERSON_DISTANCE, max_distance, similarity
from catalog.domain.model import Face
from indexer.recognizers.local.faces import (
    EMBEDDING_SIZE,
    DlibFaceRecognizer,
    default_models_dir,
    face_confidence,
    face_distance,
)


@pytest.fixture(scope="module")
def recognizer() -> DlibFaceRecognizer:
    model = DlibFaceRecognizer()
    model.load()
    return model


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return photo("astronaut")


@pytest.fixture(scope="module")
def collins(recognizer: DlibFaceRecognizer, astronaut: Image.Image) -> Face:
    faces = recognizer.detect(astronaut)
    assert len(faces) == 1
    return faces[0]


def best_face(recognizer: DlibFaceRecognizer, image: Image.Image) -> Face:
    faces = recognizer.detect(image)
    assert faces, "no face found"
    return faces[0]


def lfw_face(index: int) -> Image.Image:
    """One of scikit-image's 25×25 LFW faces, enlarged 6× on a gray border so the 80 px HOG window fits."""
    pixels = (samples.lfw_subset()[index] * 255).astype(np.uint8)  # type: ignore[no-untyped-call]
    face = Image.fromarray(pixels).resize((150, 150), Image.Resampling.BICUBIC)
    return ImageOps.expand(face, 40, fill=128).convert("RGB")


def test_identity(recognizer: DlibFaceRecognizer) -> None:
    assert recognizer.name == "dlib-face-recognition"
    assert recognizer.version == f"{dlib.__version__}+dlib_face_recognition_resnet_model_v1"
    assert recognizer.parameters["upsample"] == 1


def test_models_are_found_without_importing_their_package() -> None:
    assert (default_models_dir() / "shape_predictor_5_face_landmarks.dat").is_file()
    assert "face_recognition_models" not in sys.modules  # importing it fails with new setuptools


def test_astronaut_has_one_face_with_landmarks_and_embedding(collins: Face) -> None:
    box = collins.box
    assert 0.30 < box.left < 0.40 and 0.10 < box.top < 0.20  # Eileen Collins' face, upper middle
    assert 0.12 < box.width < 0.25 and 0.12 < box.height < 0.25
    assert collins.confidence > 99
    marks = {m.type: m for m in collins.landmarks}
    assert list(marks) == ["eyeLeft", "eyeRight", "nose"]
    assert marks["eyeLeft"].x < marks["nose"].x < marks["eyeRight"].x  # eyeLeft: the image's left
    assert max(marks["eyeLeft"].y, marks["eyeRight"].y) < marks["nose"].y
    for m in marks.values():
        assert box.left <= m.x <= box.left + box.width and box.top <= m.y <= box.top + box.height
    assert len(collins.embedding) == EMBEDDING_SIZE
    assert all(isinstance(v, float) and math.isfinite(v) for v in collins.embedding)
    assert collins.person_id is None


def test_verifier_rejects_the_mission_patch(astronaut: Image.Image, collins: Face) -> None:
    # HOG alone also takes the round mission patch (and the name tag) on her suit for faces
    unverified = DlibFaceRecognizer(verify_below=None).detect(astronaut)
    assert len(unverified) >= 2
    assert unverified[0].box == collins.box
    assert all(face.box.top > 0.5 and face.confidence < 95 for face in unverified[1:])


def variants(image: Image.Image) -> dict[str, Image.Image]:
    """The same person in other photos: cropped and rescaled, rotated, darker, brighter, mirrored, JPEG."""
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=30)
    return {
        "crop+rescale": image.crop((60, 0, 460, 400)).resize((300, 300), Image.Resampling.LANCZOS),
        "rotate 8°": image.rotate(8, resample=Image.Resampling.BICUBIC),
        "darker+mirror": ImageOps.mirror(ImageEnhance.Brightness(image).enhance(0.6)),
        "brighter+jpeg": Image.open(io.BytesIO(jpeg.getvalue())).point(lambda v: min(255, int(v * 1.3))),
    }


def test_same_person_across_photos(
    recognizer: DlibFaceRecognizer, astronaut: Image.Image, collins: Face
) -> None:
    for name, image in variants(astronaut).items():
        face = best_face(recognizer, image)
        distance = face_distance(collins.embedding, face.embedding)
        assert distance < SAME_PERSON_DISTANCE, name
        assert similarity(distance) > 80, name


def test_different_people_are_far_apart(recognizer: DlibFaceRecognizer, collins: Face) -> None:
    # the cameraman: half turned, below dlib's own HOG threshold, found thanks to the verifier
    cameraman = best_face(recognizer, photo("camera"))
    assert 0.40 < cameraman.box.left < 0.45 and 0.2 < cameraman.box.top < 0.3
    assert face_distance(collins.embedding, cameraman.embedding) > SAME_PERSON_DISTANCE
    assert similarity(face_distance(collins.embedding, cameraman.embedding)) < 80
    for index in range(3):  # LFW people; low resolution, yet still clearly not her
        other = best_face(recognizer, lfw_face(index))
        assert face_distance(collins.embedding, other.embedding) > SAME_PERSON_DISTANCE, index


@pytest.mark.parametrize("name", ["coffee", "chelsea"])  # a cat's face is not a human face
def test_no_human_face(recognizer: DlibFaceRecognizer, name: str) -> None:
    assert recognizer.detect(photo(name)) == []


@pytest.mark.parametrize("size", [(1, 1), (0, 0), (1024, 10), (10, 1024)])
def test_tiny_and_thin_images_have_no_faces(recognizer: DlibFaceRecognizer, size: tuple[int, int]) -> None:
    assert recognizer.detect(Image.new("RGB", size, (200, 180, 160))) == []


def test_grayscale_image(recognizer: DlibFaceRecognizer, astronaut: Image.Image, collins: Face) -> None:
    face = best_face(recognizer, astronaut.convert("L"))
    assert face_distance(collins.embedding, face.embedding) < SAME_PERSON_DISTANCE


def test_large_images_are_scaled_down_first(astronaut: Image.Image, collins: Face) -> None:
    big = astronaut.resize((1536, 1536), Image.Resampling.BICUBIC)
    faces = DlibFaceRecognizer(max_side=512).detect(big)
    assert len(faces) == 1
    assert abs(faces[0].box.left - collins.box.left) < 0.01 and abs(faces[0].box.top - collins.box.top) < 0.01


def test_min_face_px_drops_small_faces(astronaut: Image.Image) -> None:
    assert DlibFaceRecognizer(min_face_px=120).detect(astronaut) == []  # her face is ≈ 90 px wide


def test_one_recognizer_serves_several_threads(
    recognizer: DlibFaceRecognizer, astronaut: Image.Image
) -> None:
    small, coffee = astronaut.resize((320, 320)), photo("coffee").resize((320, 213))
    images = [small, coffee, ImageOps.mirror(small)]
    serial = [recognizer.detect(image) for image in images]
    with ThreadPoolExecutor(2) as pool:
        parallel = list(pool.map(recognizer.detect, images))
    assert parallel == serial


def test_constructor_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        DlibFaceRecognizer(upsample=3)
    with pytest.raises(ValueError):
        DlibFaceRecognizer(person_upsample=-1)
    with pytest.raises(ValueError):
        DlibFaceRecognizer(min_face_px=-1)


def test_face_confidence_mapping() -> None:
    assert face_confidence(-0.5) == 50
    assert [face_confidence(s) for s in (-0.3, 0.0, 0.5, 1.0)] == [69.0, 88.08, 98.2, 99.75]
    assert face_confidence(-1e6) == 0 and face_confidence(1e6) == 100  # no overflow


def test_face_distance() -> None:
    assert face_distance([0.0, 3.0], [4.0, 0.0]) == 5.0
    with pytest.raises(ValueError):
        face_distance([0.0, 1.0], [0.0, 1.0, 2.0])


def test_similarity_mapping() -> None:
    assert [similarity(d) for d in (0.0, 0.3, 0.6, 0.9, 1.2, 2.0)] == [100, 90, 80, 40, 0, 0]
    for threshold in (0.0, 50.0, 80.0, 99.0, 100.0):
        assert similarity(max_distance(threshold)) == pytest.approx(threshold, abs=0.01)
    assert max_distance(80) == pytest.approx(SAME_PERSON_DISTANCE)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError):
            similarity(bad)
