"""Fakes at ports, for unit tests only. Real adapters and real models are tested elsewhere."""

from __future__ import annotations

import numpy as np
from PIL import Image

from catalog.domain.model import Label


class ColorLabeler:
    """A LabelModel that names an image's dominant channel: deterministic, instant, no weights."""

    name = "fake-color"
    version = "1"
    input_size = 8

    def prepare(self, image: Image.Image) -> np.ndarray:
        arr = np.asarray(image.convert("RGB").resize((8, 8)), dtype=np.float32)
        return arr.mean(axis=(0, 1))

    def predict(
        self,
        batch: np.ndarray,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[list[Label]]:
        out = []
        for means in batch:
            share = means / max(float(means.sum()), 1.0)
            channel = int(np.argmax(share))
            name = ("Red", "Green", "Blue")[channel]
            confidence = round(float(share[channel]) * 100, 2)
            labels = [Label(name, confidence, ("Color",)), Label("Color", confidence, ())]
            out.append([lb for lb in labels if lb.confidence >= min_confidence][:max_labels])
        return out


class ColorFeatureLabeler(ColorLabeler):
    """ColorLabeler that also gives a feature vector from the same call (a FeatureLabelModel): the colour
    means and their complements, so a linear probe can tell hues apart."""

    feature_version = "fake-color-features/1"

    def features(self, batch: np.ndarray) -> np.ndarray:
        means = np.asarray(batch, dtype=np.float32) / 255.0
        return np.hstack([means, 1.0 - means])

    def predict_with_features(
        self,
        batch: np.ndarray,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[tuple[list[Label], np.ndarray]]:
        labels = self.predict(batch, min_confidence=min_confidence, max_labels=max_labels)
        return list(zip(labels, self.features(batch), strict=True))
