"""Real photographs from scikit-image's bundled samples, written as camera-like JPEG files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps
from skimage import data as samples

if TYPE_CHECKING:
    from mediasight.bootstrap import Services


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


def photo(name: str) -> Image.Image:
    """skimage.data.<name>() as an RGB picture."""
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def document(lines: list[str]) -> Image.Image:
    """A white page with the lines typed on it, for OCR."""
    page = Image.new("RGB", (1000, 140 + 90 * len(lines)), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=48)
    for i, line in enumerate(lines):
        draw.text((60, 70 + 90 * i), line, fill="black", font=font)
    return page


def recognition_photos() -> dict[str, Image.Image]:
    """The archive the recognition and page tests share: two views of one person, another person, a cat,
    a cup of coffee and a typed memo."""
    astronaut = photo("astronaut")
    return {
        "astronaut.jpg": astronaut,
        # The same person again: mirrored, cropped and darker.
        "collins_again.jpg": ImageOps.mirror(astronaut.crop((40, 0, 480, 440))).point(lambda v: v * 4 // 5),
        "cameraman.jpg": photo("camera"),
        "chelsea.jpg": photo("chelsea"),
        "coffee.jpg": photo("coffee"),
        "memo.png": document(["Mediasight Archive 2026", "Quarterly report"]),
    }


async def ingest_all(services: Services, tenant: str, images: dict[str, Image.Image]) -> dict[str, str]:
    """Each picture as a JPEG file of the tenant: asset IDs by filename."""
    ids = {}
    for name, img in images.items():
        outcome = await services.ingestor.ingest(tenant, jpeg(img), name)
        assert outcome.asset is not None, outcome.error
        ids[name] = outcome.asset.id
    return ids
