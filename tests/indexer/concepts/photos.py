"""Real photographs for concept tests: one subject in many augmented crops, and other photos around it.

The subject is scikit-learn's bundled china.jpg (a temple among trees, a picture no model here was taught
as a category); the others are scikit-image's and scikit-learn's other colour photos."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance, ImageOps
from skimage import data as samples
from sklearn.datasets import load_sample_image

OTHER_SKIMAGE = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
)


def subject() -> Image.Image:
    return Image.fromarray(load_sample_image("china.jpg")).convert("RGB")


def others() -> dict[str, Image.Image]:
    out = {n: Image.fromarray(getattr(samples, n)()).convert("RGB") for n in OTHER_SKIMAGE}
    out["flower"] = Image.fromarray(load_sample_image("flower.jpg")).convert("RGB")
    out["motorcycle"] = Image.fromarray(samples.stereo_motorcycle()[0]).convert("RGB")
    return out


def augmented_crops(image: Image.Image, count: int, seed: int) -> list[Image.Image]:
    """Random crops (45-80 % of each side), some mirrored, brightness and contrast varied, as a
    photographer's other frames of the same subject would be."""
    rng = np.random.default_rng(seed)
    w, h = image.size
    out = []
    for _ in range(count):
        cw, ch = int(w * rng.uniform(0.45, 0.8)), int(h * rng.uniform(0.45, 0.8))
        left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = image.crop((left, top, left + cw, top + ch))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        crop = ImageEnhance.Brightness(crop).enhance(float(rng.uniform(0.75, 1.25)))
        crop = ImageEnhance.Contrast(crop).enhance(float(rng.uniform(0.8, 1.2)))
        out.append(crop)
    return out
