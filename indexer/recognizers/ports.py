"""Recognizer ports: what the pipeline needs from a model, whatever runs it."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PIL import Image

from catalog.model import Label


class LabelModel(Protocol):
    """A label recognizer. Thread-safe after load; prepare() and predict() are blocking CPU work."""

    name: str  # e.g. "efficientnet-lite0-imagenet1k"
    version: str  # e.g. "1.0" (+ weights hash prefix is good)

    def prepare(self, image: Image.Image) -> np.ndarray:
        """RGB PIL image of any size -> float32 CHW input."""
        ...

    def predict(self, batch: np.ndarray, *, min_confidence: float, max_labels: int) -> list[list[Label]]:
        """NCHW batch of prepare() outputs -> labels per image, highest confidence first."""
        ...
