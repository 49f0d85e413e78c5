"""Image properties in the spirit of Rekognition's ImageProperties: brightness, sharpness, contrast,
dominant colors and an overall quality score, all computed locally with numpy, OpenCV and Pillow.

Every score is 0–100 (two decimals) and deterministic. How each is measured:

- Measuring image: the picture's luma (Rec. 601, OpenCV's RGB→GRAY) resized so its longer side is
  exactly WORK_SIDE (512) px (area averaging down, bilinear up), so that values do not depend on the
  resolution the caller happened to pass: a 1024-px preview and a 2048-px original of the same photo score
  alike, while a tiny image blown up to that size scores soft, as it would look.
- brightness = mean luma / 255 · 100.
- contrast = RMS contrast: standard deviation of luma / 127.5 · 100 (127.5 is the largest possible
  standard deviation, reached by a half-black, half-white image), capped at 100.
- sharpness: v = variance of the 3×3 Laplacian of the measuring image, mapped on a log scale
  100 · min(1, log10(1 + v) / log10(1 + SHARP_VAR_MAX)) with SHARP_VAR_MAX = 3000 (so v ≈ 55 scores 50).
  Seen on scikit-image's sample photos: sharp originals 52–100 (astronaut 84, coffee 82, chelsea 61,
  moon 52); after a Gaussian blur of radius 1: 26–69, radius 2: 13–50, radius 4: 9–26; flat images 0.
  It is a relative measure, not an absolute focus test: film grain and JPEG noise raise it, and so does
  contrast (darkening a photo to 30 % lowers its sharpness by ≈ 30 points).
- dominant_colors: Pillow's median-cut quantizer (deterministic) to at most 5 colors on a box-averaged
  thumbnail (an integer reduction to 64–127 px on the longer side); pixel_percent is each color's share of
  the thumbnail's pixels (sums to ≈ 100), most common first. Box averaging blends colors along edges, so
  hard-edged graphics may show a small extra in-between color.
- quality: a weighted geometric mean of three factors in [0, 1], so that any one bad factor pulls it down
  hard: 100 · S^0.5 · E^0.25 · C^0.25, where
    S = sharpness / 100;
    E = exposure: 1 while brightness is within 30–70, falling linearly to 0 at brightness 0 or 100,
        times a clipping factor that is 1 up to 10 % of pixels crushed to black (luma ≤ 3) or blown to
        white (luma ≥ 252) and falls linearly to 0.25 at 60 % and beyond (not to 0: documents and
        product shots on white are legitimately mostly white);
    C = min(1, contrast / 25).
  This is a heuristic, not a learned quality model (no BRISQUE: OpenCV's BRISQUE model files, Debian
  opencv-data, are not on these machines), and it penalises images that are dark, flat or soft on
  purpose (night skies, fog, bokeh).
- tone (whether the image has colours of its own, or one tone: black and white, greyscale, a sepia or
  other toned print), on a box-averaged thumbnail (an integer reduction to 128–255 px on the longer side)
  in CIELAB: a toned image's colour is a function of its lightness (paper white, silver black, a sepia
  brown in between), so within each of TONE_BINS lightness bands its pixels share the band's median
  (a, b); off_tone_percent is the share of pixels farther than OFF_TONE (CIELAB units) from it, and
  median_chroma the median chroma (how strongly the whole image is tinted). Seen on 153 photos and
  graphics from packages: greyscale ones 0 (a JPEG of a greyscale photo with a slight warm cast too),
  skimage's camera, coins, moon, pywt's ascent toned sepia or cyan 0–0.4 (median chroma 20–31); colour
  photos 1.1 and more (mostly grey ones with a few coloured things: playing cards 1.8, the Hubble deep
  field 5.3, a desaturated aerial photo 12), single-hue graphics 1.1–1.8 (blinds, a blue gradient). A
  photo of one pale colour and nothing else (bare wood) looks toned by this measure (0.0, chroma 17).
  catalog.domain.tone decides from these.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import DominantColor, ImageProperties

WORK_SIDE = 512  # longer side of the measuring image, px
SHARP_VAR_MAX = 3000.0  # Laplacian variance that scores 100
PALETTE_SIDE = 64  # least longer side of the thumbnail the dominant colors are taken from, px
MAX_COLORS = 5
BRIGHT_OK = (30.0, 70.0)  # brightness band without exposure penalty
CLIP_DARK, CLIP_LIGHT = 3, 252  # luma at or beyond which a pixel counts as crushed / blown
CLIP_OK, CLIP_FULL = 0.10, 0.60  # clipped fraction: no penalty up to CLIP_OK, the full one from CLIP_FULL
CLIP_FLOOR = 0.25  # clipping factor at and beyond CLIP_FULL
CONTRAST_OK = 25.0  # contrast from which low contrast is no longer penalised
TONE_SIDE = 128  # least longer side of the thumbnail the tone is measured on, px
TONE_BINS = 10  # lightness bands a toned image has one colour in
OFF_TONE = 6.0  # CIELAB distance from its band's colour past which a pixel has a colour of its own


def image_properties(image: Image.Image) -> ImageProperties:
    """Brightness, sharpness, contrast, quality (0–100), up to 5 dominant colors and the tone of an image.

    Pure and thread-safe; any size from 1×1 up; non-RGB modes are converted (alpha is dropped).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    rgb: NDArray[np.uint8] = np.asarray(image)
    luma = _measuring_luma(rgb)
    lf = luma.astype(np.float32)
    brightness = float(lf.mean()) / 255.0 * 100.0
    contrast = min(100.0, float(lf.std()) / 127.5 * 100.0)
    sharpness = sharpness_score(float(cv2.Laplacian(lf, cv2.CV_32F, ksize=1).var()))
    clipped = float(np.count_nonzero((luma <= CLIP_DARK) | (luma >= CLIP_LIGHT))) / luma.size
    quality = quality_score(sharpness=sharpness, brightness=brightness, contrast=contrast, clipped=clipped)
    off_tone, chroma = tone_measures(image)
    return ImageProperties(
        brightness=round(brightness, 2),
        sharpness=round(sharpness, 2),
        contrast=round(contrast, 2),
        quality=round(quality, 2),
        dominant_colors=dominant_colors(image),
        off_tone_percent=off_tone,
        median_chroma=chroma,
    )


def sharpness_score(laplacian_variance: float) -> float:
    """Variance of the Laplacian of the measuring image → 0–100 on a log scale (see module doc)."""
    v = max(0.0, laplacian_variance)
    return 100.0 * min(1.0, math.log10(1.0 + v) / math.log10(1.0 + SHARP_VAR_MAX))


def quality_score(*, sharpness: float, brightness: float, contrast: float, clipped: float) -> float:
    """The documented blend of sharpness, exposure and contrast (all 0–100; clipped is a fraction 0–1)."""
    s = _clip01(sharpness / 100.0)
    low, high = BRIGHT_OK
    off_band = max(low - brightness, brightness - high, 0.0)
    exposure = 1.0 - _clip01(off_band / low)  # low == 100 - high: 0 at brightness 0 and at 100
    exposure *= 1.0 - (1.0 - CLIP_FLOOR) * _clip01((clipped - CLIP_OK) / (CLIP_FULL - CLIP_OK))
    c = _clip01(contrast / CONTRAST_OK)
    return float(100.0 * s**0.5 * exposure**0.25 * c**0.25)


def dominant_colors(image: Image.Image, max_colors: int = MAX_COLORS) -> tuple[DominantColor, ...]:
    """Up to max_colors colors of an RGB image, most common first (median cut on a box-averaged thumbnail
    whose longer side is PALETTE_SIDE to 2·PALETTE_SIDE − 1 px)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    factor = max(1, max(image.size) // PALETTE_SIDE)
    small = image.reduce(factor) if factor > 1 else image
    quantized = small.quantize(colors=max_colors, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    counts: dict[tuple[int, int, int], int] = {}
    for count, index in quantized.getcolors(maxcolors=256) or []:
        if not isinstance(index, int):  # a "P" image's colors are palette indices
            raise TypeError(f"unexpected color {index!r} in a palette image")
        r, g, b = palette[3 * index : 3 * index + 3]
        counts[(r, g, b)] = counts.get((r, g, b), 0) + count
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(
        DominantColor(
            red=r,
            green=g,
            blue=b,
            hex=f"#{r:02X}{g:02X}{b:02X}",
            pixel_percent=round(100.0 * count / total, 2),
        )
        for (r, g, b), count in ranked
    )


def tone_measures(image: Image.Image) -> tuple[float, float]:
    """(off_tone_percent, median_chroma) of an RGB image, rounded to 2 decimals (see module doc)."""
    factor = max(1, max(image.size) // TONE_SIDE)
    small = image.reduce(factor) if factor > 1 else image
    rgb = np.asarray(small, dtype=np.float32) / np.float32(255.0)
    lab = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), dtype=np.float32).reshape(-1, 3)
    lightness, ab = lab[:, 0], lab[:, 1:]
    band = np.minimum((lightness * (TONE_BINS / 100.0)).astype(np.int64), TONE_BINS - 1)
    tone = np.zeros_like(ab)
    for k in np.unique(band).tolist():
        within = band == k
        tone[within] = np.median(ab[within], axis=0)
    off = np.hypot(*(ab - tone).T) > OFF_TONE
    chroma = float(np.median(np.hypot(ab[:, 0], ab[:, 1])))
    return round(100.0 * float(np.count_nonzero(off)) / len(off), 2), round(chroma, 2)


def _measuring_luma(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Luma of the image, resized to WORK_SIDE on its longer side."""
    luma = np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    return _fit(luma, WORK_SIDE)


def _fit(pixels: NDArray[np.uint8], side: int) -> NDArray[np.uint8]:
    """Resize so the longer side is `side` (keeping aspect, each side ≥ 1 px)."""
    height, width = pixels.shape[:2]
    longer = max(height, width)
    if longer == side:
        return pixels
    scale = side / longer
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(pixels, size, interpolation=interpolation), dtype=np.uint8)


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))
