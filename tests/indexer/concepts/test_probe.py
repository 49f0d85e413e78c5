"""The linear probe on real photos: a concept learned from augmented crops of one subject recognises held-out
crops of it and not the other photos; too few positives are refused with how many are needed; the
classifier's features come from the labels' own forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.domain.concepts.model import ConceptError
from indexer.analyzers import feature_vector
from indexer.concepts.probe import as_matrix, probabilities, train
from indexer.recognizers.local.labels import EfficientNetLabeler
from tests.indexer.concepts.photos import augmented_crops, others, subject


@pytest.fixture(scope="module")
def labeler(tmp_path_factory: pytest.TempPathFactory) -> EfficientNetLabeler:
    model = EfficientNetLabeler(tmp_path_factory.mktemp("models"))
    model.load()
    return model


def vectors(labeler: EfficientNetLabeler, images: list) -> np.ndarray:  # type: ignore[type-arg]
    batch = np.stack([labeler.prepare(i) for i in images])
    return as_matrix([feature_vector(labeler, v).data for v in labeler.features(batch)])


def test_features_come_from_the_labels_forward_pass(labeler: EfficientNetLabeler) -> None:
    images = [subject(), others()["coffee"]]
    batch = np.stack([labeler.prepare(i) for i in images])
    both = labeler.predict_with_features(batch, min_confidence=5, max_labels=10)
    assert [labels for labels, _ in both] == labeler.predict(batch, min_confidence=5, max_labels=10)
    features = np.stack([f for _, f in both])
    assert features.shape == (2, 1280)
    assert np.all(features >= 0)  # pooled after ReLU6
    np.testing.assert_allclose(features, labeler.features(batch), rtol=1e-5, atol=1e-6)
    cosine = float(features[0] @ features[1] / np.linalg.norm(features[0]) / np.linalg.norm(features[1]))
    assert cosine < 0.9  # two different pictures, two different vectors
    assert labeler.feature_version.startswith("efficientnet-lite0-imagenet1k/pool1280@")


def test_a_concept_from_crops_recognises_held_out_crops_and_not_other_photos(
    labeler: EfficientNetLabeler,
) -> None:
    other = others()
    crops = augmented_crops(subject(), 14, seed=1)
    train_pos, held_pos = crops[:8], crops[8:]
    train_neg = [c for img in other.values() for c in augmented_crops(img, 3, seed=2)]
    held_neg = [c for img in other.values() for c in augmented_crops(img, 2, seed=3)]

    weights, metrics = train(vectors(labeler, train_pos), vectors(labeler, train_neg))
    assert metrics.positives == 8 and metrics.negatives == len(train_neg) and metrics.folds == 5
    assert metrics.f1 >= 0.9, metrics
    assert 0 < metrics.threshold < 1

    held_in = probabilities(weights, vectors(labeler, held_pos))
    held_out = probabilities(weights, vectors(labeler, held_neg))
    whole_others = probabilities(weights, vectors(labeler, list(other.values())))
    assert np.all(held_in >= metrics.threshold), held_in
    assert np.all(held_out < metrics.threshold), held_out
    assert np.all(whole_others < metrics.threshold), whole_others
    assert held_in.min() > 0.5 and max(held_out.max(), whole_others.max()) < 0.5


def test_fewer_than_five_positives_are_refused_with_how_many_are_needed() -> None:
    rng = np.random.default_rng(0)
    blobs = [rng.random(16).astype("<f2").tobytes() for _ in range(20)]
    with pytest.raises(ConceptError, match=r"at least 5 positive examples.*it has 4: add 1 more") as info:
        train(as_matrix(blobs[:4]), as_matrix(blobs[4:]))
    assert info.value.code == "TOO_FEW_EXAMPLES"
    with pytest.raises(ConceptError, match="2 negative examples"):
        train(as_matrix(blobs[:6]), as_matrix(blobs[6:7]))
