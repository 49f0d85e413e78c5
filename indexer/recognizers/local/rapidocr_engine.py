"""RapidOCR's PP-OCR detection and recognition models on onnxruntime, as the local text recognizer
(local_text) drives them. Both ONNX files ship inside the rapidocr wheel and are passed by path, so
rapidocr's download code is never reached (the recogniser's character list is read from the model's own
metadata).

Detection runs at the image's own resolution (rapidocr's default scales the short side up to 736 px: a
1024×200 banner became a 3768×736 detector input, took 10–40× longer, and the enlarged word gaps split one
line into several; at native resolution it also stopped finding "text" in skimage's chelsea()). Lines of
7 px font size are still found in a 1024 px preview; enlarging the preview adds nothing.

Most photos have no text, and detection at full resolution was most of the reader's time (~0.5 s of a
1024 px image on one core). So a larger image is first looked at by the same detector at half size
(text_bands): where its text probability passes a low bar, horizontal bands of the image are detected
again at full resolution; nothing passing the bar means no text. On the test images (rendered lines of
7–40 px, skimage's page and coffee with text drawn on, and photos from packages: a bus with signs, a
name badge) every line the full-size pass found was found again, read the same or better.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from rapidocr import RapidOCR

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"

# Longest side the detector sees: above it the detector input is shrunk. rapidocr itself already caps images
# at 2000 px, so this keeps detection at the image's own resolution.
_DET_MAX_SIDE = 2048
# How far a detected text region is grown into the line box that is cut out for recognition (rapidocr: 1.6).
# At native resolution 1.6 cut so tight that a word space was lost ("CAFE ROMA" read "CAFEROMA" at 0.999);
# 2.0 read every test image right.
_DET_UNCLIP_RATIO = 2.0
# The look at half size (text_bands): where the detector's text probability passes _LOOK_BAR. That bar is
# far below the detector's own (0.3): 7 px text (3.5 px at half size) reached only 0.05–0.3 there, and the
# detector's own box filters lost such lines. A band spans the image's width (lines cut at a band's side
# were misread) and reaches the region's height (at most _LOOK_GROW_MAX px) plus _BAND_PAD beyond it, above
# and below: a faint line's ends may sit below the bar. Both are in the image's own pixels.
_LOOK_SIDE = 512
_LOOK_MIN_SIDE = 640  # images up to this size are detected whole at once
_LOOK_BAR = 0.05
# Inside a region too tall to be a line (_TALLEST_LINE), lines are where the look passes the detector's own
# bar: a caption plate on an enlarged star field joined the stars' faint "text" and was lost (on 40 photos
# with 3 lines of 7–24 px drawn on each, it gained that line and cost nothing measurable).
_LOOK_STRONG_BAR = 0.3
_JOIN = np.ones((3, 9), np.uint8)
_BAND_PAD = 24
_LOOK_GROW_MAX = 32
# The detector (at any size) sees "text" regions as tall as much of the image on smooth or textured photos
# (skimage's horse, retina, coffee enlarged), which read as nothing: not lines, so they make no band.
_TALLEST_LINE = 1 / 4
# Bands covering more than this of the image: detect the whole image instead. Below it, detecting band by band
# costs about the bands' share of the whole (skimage's hubble_deep_field at 1024×768: bands over 56 % of it,
# 221 ms, against 400 ms whole, and nothing read either way). At 0.5 and at 0.8 the same lines were read on
# the tests' images and 25 previews (scikit-image's samples, the bench's photos, bus.jpg, grace_hopper, t1).
_WHOLE_FRACTION = 0.8


def rapidocr_models_dir() -> Path:
    """The models folder inside the installed rapidocr package (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("rapidocr is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def build_engine(models_dir: Path, intra_op_num_threads: int) -> RapidOCR:
    """The RapidOCR engine on the two models in models_dir, both sessions opened and run once."""
    from rapidocr import EngineType, ModelType, OCRVersion, RapidOCR
    from rapidocr.main import RapidOCRError

    paths = {"Det": models_dir / DET_MODEL, "Rec": models_dir / REC_MODEL}
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(f"OCR model missing (it ships inside the rapidocr wheel): {path}")
    params: dict[str, object] = {
        "Global.log_level": "warning",
        "Global.use_cls": False,
        "Global.return_word_box": True,  # keeps the CTC alignment (WordInfo) in the recogniser output
        "EngineConfig.onnxruntime.intra_op_num_threads": intra_op_num_threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "Det.limit_type": "max",
        "Det.limit_side_len": _DET_MAX_SIDE,
        "Det.unclip_ratio": _DET_UNCLIP_RATIO,
    }
    for task, path in paths.items():
        params[f"{task}.engine_type"] = EngineType.ONNXRUNTIME
        params[f"{task}.ocr_version"] = OCRVersion.PPOCRV6
        params[f"{task}.model_type"] = ModelType.SMALL
        params[f"{task}.model_path"] = str(path)  # a path given → rapidocr never tries to download
    engine = RapidOCR(params=params)
    # open both sessions now (they would otherwise open on first use) and run each once
    with contextlib.suppress(RapidOCRError):  # no text in a blank image: expected
        engine.detect_and_crop(np.full((64, 64, 3), 255, np.uint8), {})
    engine.recognize_txt([np.full((48, 192, 3), 255, np.uint8)])
    return engine


def _detector(engine: RapidOCR) -> Any:
    """rapidocr's text detector (its session, pre- and post-processing): it offers no public handle."""
    return engine._load_det_model()  # type: ignore[no-untyped-call]


def _line_regions(probability: NDArray[np.float32]) -> list[tuple[int, int]]:
    """(top row, height) of the line-shaped regions of the look's text probability: where it passes
    _LOOK_BAR, and inside regions too tall to be a line (texture), where it passes _LOOK_STRONG_BAR."""
    tallest = _TALLEST_LINE * probability.shape[0]
    regions, labels, too_tall = _regions(probability > _LOOK_BAR, tallest)
    if too_tall:
        regions += _regions((probability > _LOOK_STRONG_BAR) & np.isin(labels, too_tall), tallest)[0]
    return regions


def _regions(
    mask: NDArray[np.bool_], tallest: float
) -> tuple[list[tuple[int, int]], NDArray[np.int32], list[int]]:
    """The mask's regions, widened so the fragments of one faint line join into one line-shaped region:
    (top row, height) of those up to `tallest` rows, each pixel's region label, the taller ones' labels."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask.astype(np.uint8), _JOIN))
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    lines = [
        (int(stats[i, cv2.CC_STAT_TOP]), int(heights[i])) for i in range(1, count) if heights[i] <= tallest
    ]
    return lines, np.asarray(labels, np.int32), [i for i in range(1, count) if heights[i] > tallest]


def text_bands(engine: RapidOCR, img: NDArray[np.uint8]) -> list[tuple[int, int]] | None:
    """Rows of the image (top, bottom) that may hold text, from the detector run at half size; [] when
    none may; None when the whole image should be detected (small, or text all over)."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    height, width = img.shape[:2]
    if max(height, width) <= _LOOK_MIN_SIDE:
        return None
    detector = _detector(engine)
    look = DetPreProcess(_LOOK_SIDE, "max", detector.mean, detector.std)(img)
    if look is None:
        return None
    probability = np.asarray(detector.session(look))[0, 0]
    scale = height / probability.shape[0]
    spans = []
    for top, tall in _line_regions(probability):
        grow = min(tall * scale, _LOOK_GROW_MAX)
        spans.append(
            (
                max(0, int(top * scale - grow) - _BAND_PAD),
                min(height, int((top + tall) * scale + grow) + _BAND_PAD),
            )
        )
    bands: list[tuple[int, int]] = []
    for top, bottom in sorted(spans):  # overlapping bands merge
        if bands and top <= bands[-1][1]:
            bands[-1] = (bands[-1][0], max(bands[-1][1], bottom))
        else:
            bands.append((top, bottom))
    if sum(b - t for t, b in bands) > _WHOLE_FRACTION * height:
        return None
    return bands


def detect_in_bands(
    engine: RapidOCR, img: NDArray[np.uint8], bands: list[tuple[int, int]]
) -> NDArray[np.float32]:
    """Text quads (N, 4, 2) in img pixels, detected at full resolution band by band."""
    detector = _detector(engine)
    quads: list[NDArray[np.float32]] = []
    for top, bottom in bands:
        found = detector(np.ascontiguousarray(img[top:bottom]))
        if found.boxes is not None and len(found.boxes):
            quads.append(np.asarray(found.boxes, np.float32) + np.array([0, top], np.float32))
    return np.concatenate(quads) if quads else np.zeros((0, 4, 2), np.float32)


def turn_crop(crop: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The line crop turned 180°."""
    return np.ascontiguousarray(crop[::-1, ::-1])


def recognize_crops(engine: RapidOCR, crops: list[NDArray[np.uint8]]) -> list[tuple[str, float, object]]:
    """(text, score 0–1, rapidocr WordInfo) per line crop."""
    rec = engine.recognize_txt(crops)
    txts, scores, infos = rec.txts or (), rec.scores, rec.word_results
    if len(txts) != len(crops) or len(scores) != len(crops) or len(infos) != len(crops):
        raise RuntimeError(f"rapidocr returned {len(txts)} texts for {len(crops)} text lines")
    return [(str(t), float(s), i) for t, s, i in zip(txts, scores, infos, strict=True)]
