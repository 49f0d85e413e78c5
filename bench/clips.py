"""Clips made from real photos (scikit-image samples) with PyAV: holds, pans, cuts and dissolves at
known frames. Small and short, so a clip encodes in well under a second."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from skimage import data as samples

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")


def photo(name: str) -> Image.Image:
    if name == "black":
        return Image.new("RGB", (640, 360))
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


@dataclass(frozen=True)
class Shot:
    """`frames` frames of one photo; `pan` slides a crop window across it (motion, no cut)."""

    photo: str
    frames: int
    pan: bool = False
    dissolve_in: int = 0  # frames of cross-fade from the previous shot (0: a hard cut)
    caption: str = ""  # a lower third: white text on a dark band across the picture (not with pan)
    # the photo as it is (aspect kept), this share of the frame's height, standing on its bottom edge on a
    # plain background (a wide shot; not with pan); 0: stretched to the frame, whatever its aspect
    scale: float = 0.0


@dataclass
class Clip:
    path: Path
    rate: Fraction
    shots: Sequence[Shot]
    cuts: list[int] = field(default_factory=list)  # first frame of every hard-cut shot after the first
    dissolves: list[tuple[int, int]] = field(default_factory=list)  # [first, last] frame of each dissolve

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.shots)


def _shot_frames(shot: Shot, size: tuple[int, int]) -> Iterator[NDArray[np.uint8]]:
    w, h = size
    img = photo(shot.photo)
    if not shot.pan:
        still = np.asarray(_captioned(_framed(img, size, shot.scale), shot.caption))
        # seeded by the photo's name through crc32: str hash() differs per process (PYTHONHASHSEED),
        # which made every process encode a different clip and pick different keyframes
        rng = np.random.default_rng(zlib.crc32(shot.photo.encode()))
        for _ in range(shot.frames):
            # a little sensor noise so frames are not bit-identical, as in real footage
            noise = rng.integers(-3, 4, still.shape, dtype=np.int16)
            yield np.clip(still.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        return
    # pan: a window 60 % of the photo's width sliding left to right
    scale = h / img.height
    big = img.resize((max(w * 2, round(img.width * scale * 1.7)), round(h * 1.7)), Image.Resampling.BILINEAR)
    span = big.width - round(w * 1.7)
    for i in range(shot.frames):
        x = round(span * i / max(1, shot.frames - 1))
        crop = big.crop((x, 0, x + round(w * 1.7), big.height))
        yield np.asarray(crop.resize(size, Image.Resampling.BILINEAR))


def _framed(img: Image.Image, size: tuple[int, int], scale: float) -> Image.Image:
    """The photo in a frame of `size`: stretched to it (scale 0), or aspect kept at `scale` of its height,
    centred, on the bottom edge, on dark grey."""
    if not scale:
        return img.resize(size, Image.Resampling.BILINEAR)
    w, h = size
    ratio = min(h * scale / img.height, w / img.width)  # a photo wider than the frame fits its width
    width, height = max(1, round(img.width * ratio)), max(1, round(img.height * ratio))
    frame = Image.new("RGB", size, (70, 74, 80))
    frame.paste(img.resize((width, height), Image.Resampling.LANCZOS), ((w - width) // 2, h - height))
    return frame


def _captioned(img: Image.Image, caption: str) -> Image.Image:
    """The picture with a caption in its lower third, as a broadcast lower third (Pillow's own font)."""
    if not caption:
        return img
    out = img.copy()
    draw = ImageDraw.Draw(out)
    height = max(12, out.height // 9)
    font = ImageFont.load_default(size=height)
    top = out.height * 3 // 4
    draw.rectangle((0, top - height // 3, out.width, top + height * 4 // 3), fill=(20, 20, 30))
    draw.text((out.width // 16, top), caption, font=font, fill="white")
    return out


def make_clip(
    path: Path,
    shots: Sequence[Shot],
    *,
    rate: Fraction = Fraction(25),
    size: tuple[int, int] = (320, 180),
    codec: str = "libx264",
    container: str | None = None,
    gop: int = 50,
    audio: bool = False,
    pixel_aspect: Fraction = Fraction(1),
    metadata: dict[str, str] | None = None,
) -> Clip:
    """`size`: the stored frame size; with a `pixel_aspect` (sample aspect ratio) other than 1 the pictures
    are made at the size shown (width × pixel_aspect) and stored squeezed to `size`, as HDV's 1440×1080
    (4:3) and DV widescreen are."""
    clip = Clip(path, rate, shots)
    shown = (round(size[0] * pixel_aspect), size[1])
    # the container's tags, e.g. a camera's creation_time (MOV keeps Apple's own with use_metadata_tags)
    options = {"movflags": "use_metadata_tags"} if metadata and container == "mov" else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        out.metadata.update(metadata or {})
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if pixel_aspect != 1:
            stream.codec_context.sample_aspect_ratio = pixel_aspect
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.codec_context.options = {"preset": "ultrafast", "crf": "23"}
        sound = out.add_stream("aac", rate=44100) if audio else None
        index = 0
        previous: list[NDArray[np.uint8]] = []
        for n, shot in enumerate(shots):
            frames = list(_shot_frames(shot, shown))
            if n > 0 and shot.dissolve_in:
                d = shot.dissolve_in
                tail = previous[-1]
                for j in range(d):
                    a = (j + 1) / (d + 1)
                    frames[j] = ((1 - a) * tail + a * frames[j]).astype(np.uint8)
                clip.dissolves.append((index, index + d - 1))
            elif n > 0:
                clip.cuts.append(index)
            for pixels in frames:
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                if shown != size:
                    frame = frame.reformat(width=size[0], height=size[1])
                frame.pts = index
                frame.time_base = 1 / rate
                out.mux(stream.encode(frame))
                index += 1
            previous = frames
        out.mux(stream.encode(None))
        if sound is not None:  # a 440 Hz tone as long as the picture
            samples = round(index / rate * 44100)
            for at in range(0, samples, 1024):
                t = (np.arange(at, min(at + 1024, samples)) / 44100.0).astype(np.float32)
                wave = (0.2 * np.sin(2 * np.pi * 440 * t))[None, :]
                chunk = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 44100, at
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return clip
