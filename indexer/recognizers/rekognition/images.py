"""Which image Amazon Rekognition is sent, and the bytes made for it.

- S3Object (Rekognition reads the original where it lies) when an S3 bucket is set and `original_info`
  tells us the original fits Rekognition: JPEG or PNG, ≤ 15 MB, both sides 80–10,000 px, EXIF
  orientation 1 (Rekognition's handling of rotated originals differs by operation, so a rotated one could
  give boxes in the wrong frame). Unknown (no lookup, or it returns None) → bytes.
- Bytes otherwise: the preview JPEG as is when it is ≤ 5 MB, sides within 80–10,000 px and unrotated;
  else re-encoded from the decoded image (off the event loop): scaled so the long side is ≤ 10,000 px and,
  for tiny images, *upscaled* so the short side is ≥ 80 px; if the aspect ratio is beyond 125:1 the short
  side is padded with gray to 80 px and the boxes are mapped back to the image (rekognition_mapping.unpad);
  JPEG quality then size is stepped down until ≤ 5 MB. Padding / upscaling skews properties (brightness,
  colors) a little.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from indexer.cpu import CpuPool
from indexer.recognizers.ports import AnalysisInput

BYTES_MAX = 5 * 1024 * 1024  # Image.Bytes limit (the service model's max length)
S3_MAX_BYTES = 15_000_000  # S3Object limit "15 MB" (decimal: the conservative reading)
MIN_SIDE, MAX_SIDE = 80, 10_000
S3_MEDIA_TYPES = frozenset({"image/jpeg", "image/png"})
JPEG_QUALITIES = (90, 80, 70, 60, 50)
PAD_GRAY = (128, 128, 128)


@dataclass(frozen=True)
class OriginalInfo:
    """What the store knows about an original (e.g. from the catalog's Asset for that blob key)."""

    size_bytes: int
    width: int
    height: int
    media_type: str
    orientation: int = 1


OriginalLookup = Callable[[str], Awaitable[OriginalInfo | None]]


def s3_fits(info: OriginalInfo) -> bool:
    short, long = sorted((info.width, info.height))
    return (
        0 < info.size_bytes <= S3_MAX_BYTES
        and info.media_type in S3_MEDIA_TYPES
        and info.orientation == 1
        and short >= MIN_SIDE
        and long <= MAX_SIDE
    )


@dataclass(frozen=True)
class PreparedBytes:
    data: bytes
    width: int
    height: int
    fx: float = 1.0  # share of the sent canvas's width the image fills (< 1 when padded)
    fy: float = 1.0


def usable_as_is(jpeg: bytes) -> tuple[int, int] | None:
    """The JPEG's size when Rekognition takes it unchanged (reads the header only: cheap)."""
    if not (0 < len(jpeg) <= BYTES_MAX and jpeg.startswith(b"\xff\xd8\xff")):
        return None
    try:
        with Image.open(io.BytesIO(jpeg)) as img:
            (w, h), orientation = img.size, img.getexif().get(0x0112, 1)
    except Exception:  # unreadable header: re-encode from the decoded image instead
        return None
    ok = min(w, h) >= MIN_SIDE and max(w, h) <= MAX_SIDE and orientation in (1, None)
    return (w, h) if ok else None


def _canvas(image: Image.Image, scale: float) -> tuple[Image.Image, float, float]:
    w, h = image.size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != image.size:
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        image = image.resize(size, resample)
    cw, ch = max(size[0], MIN_SIDE), max(size[1], MIN_SIDE)
    if (cw, ch) == size:
        return image, 1.0, 1.0
    canvas = Image.new("RGB", (cw, ch), PAD_GRAY)
    canvas.paste(image, (0, 0))
    return canvas, size[0] / cw, size[1] / ch


def prepare_bytes(image: Image.Image, jpeg: bytes, *, max_bytes: int = BYTES_MAX) -> PreparedBytes:
    """Bytes Rekognition accepts for this image (see the module docstring). Blocking CPU work."""
    size = usable_as_is(jpeg) if len(jpeg) <= max_bytes else None
    if size is not None:
        return PreparedBytes(jpeg, *size)
    image = image if image.mode == "RGB" else image.convert("RGB")
    w, h = image.size
    scale = min(max(1.0, MIN_SIDE / min(w, h)), MAX_SIDE / max(w, h))
    while True:
        canvas, fx, fy = _canvas(image, scale)
        for quality in JPEG_QUALITIES:
            buf = io.BytesIO()
            canvas.save(buf, "JPEG", quality=quality)
            if buf.tell() <= max_bytes:
                return PreparedBytes(buf.getvalue(), canvas.width, canvas.height, fx, fy)
        scale *= 0.75
        if max(w, h) * scale < MIN_SIDE:  # pragma: no cover - an 80 px JPEG is a few kB
            raise ValueError(f"cannot encode the image within {max_bytes} bytes")


async def prepare_off_loop(cpu: CpuPool | None, image: Image.Image, jpeg: bytes) -> PreparedBytes:
    """prepare_bytes off the event loop: on the CPU pool when there is one, else on a thread."""
    if cpu is not None:
        return await cpu.run(prepare_bytes, image, jpeg)
    return await asyncio.to_thread(prepare_bytes, image, jpeg)


async def image_to_send(
    item: AnalysisInput, *, s3_bucket: str | None, original_info: OriginalLookup | None, cpu: CpuPool | None
) -> tuple[dict[str, Any], float, float]:
    """The request's Image (S3Object or Bytes), and the share of the sent canvas the image fills."""
    if s3_bucket and original_info is not None and item.original_key:
        info = await original_info(item.original_key)
        if info is not None and s3_fits(info):
            return {"S3Object": {"Bucket": s3_bucket, "Name": item.original_key}}, 1.0, 1.0
    if usable_as_is(item.jpeg) is not None:  # header only: cheap enough for the event loop
        return {"Bytes": item.jpeg}, 1.0, 1.0
    prepared = await prepare_off_loop(cpu, await item.picture(cpu), item.jpeg)
    return {"Bytes": prepared.data}, prepared.fx, prepared.fy
