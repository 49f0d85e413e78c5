"""Real photographs from scikit-image's bundled samples, written as camera-like JPEG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as samples


def write_photo(
    path: Path, name: str, *, size: tuple[int, int] | None = None, seed: int | None = None
) -> Path:
    """skimage.data.<name>() as a JPEG; `seed` adds faint grain so copies are distinct files."""
    img = Image.fromarray(getattr(samples, name)()).convert("RGB")
    if size is not None:
        img = img.resize(size, Image.Resampling.BILINEAR)
    if seed is not None:
        rng = np.random.default_rng(seed)
        arr = np.asarray(img, dtype=np.int16) + rng.integers(-3, 4, (img.height, img.width, 3))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    img.save(path, "JPEG", quality=90)
    return path
