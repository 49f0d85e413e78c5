"""Helpers shared by the local recognizers: weights fingerprints, built-model caches and pixel arrays."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.local.atomic_file import write_atomic


def file_sha256(path: Path) -> str:
    """sha256 of a weights file, memoized per path, size and mtime (model versions include a prefix)."""
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, _size: int, _mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def built_model(cache_dir: Path, family: str, name: str, build: Callable[[], bytes]) -> Path:
    """cache_dir/name, built once (atomic write; safe across processes). Writing it removes the family's
    other builds (`{family}-b*.onnx`: earlier build versions, other weights), which nothing reads again (a
    process still running one has it loaded); they were 4–30 MB each, left behind by every upgrade."""
    target = cache_dir / name
    if target.is_file():
        return target
    data = build()
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
    for stale in cache_dir.glob(f"{family}-b*.onnx"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


def rgb_array(image: Image.Image, max_side: int) -> NDArray[np.uint8]:
    """Contiguous HxWx3 uint8 RGB, scaled down (bilinear) so the long side is at most max_side."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
