"""Local text recognizer: RapidOCR's PP-OCR models on onnxruntime, shaped like Rekognition's DetectText.

Pipeline: rapidocr 3.10's own detection (PP-OCRv6 small, DB line boxes) and recognition (PP-OCRv6 small,
CTC) steps, driven here so the parts it gets wrong can be done right. The engine and its models:
rapidocr_engine; word boxes and reading order: ocr_geometry.

Differences from calling rapidocr.RapidOCR directly, each measured on real and rendered images:
- Detection runs at the image's own resolution (rapidocr_engine).
- Orientation: rapidocr's 0°/180° line classifier (PP-OCR v2.0 mobile) is unreliable on photographed text
  (on skimage's upright page() it called most lines upside down), so it is not used. Instead, unless the
  (up to) three longest lines already read with high confidence, they are also recognised turned 180°; if
  that reads clearly better, the whole image is read turned. Text is assumed to share one orientation per
  image (lines of another orientation come back as low-confidence gibberish or not at all).
- Word boxes: a WORD is a whitespace-separated token of its LINE (as in Rekognition), boxed from the CTC
  alignment (ocr_geometry).
- Confidence: a LINE's is the recogniser's mean character probability (rapidocr's score) × 100; a WORD's is
  the mean probability of its own characters × 100. The detector's box score is not folded in.
- Stray glyphs: textured or plain photos yield one- or two-character "lines" that are no text ("O" on a
  clock face, "8" over the whole coffee photo, "G", "鑫", "X1"). Measured on 45 images (22 scikit-image and
  7 wheel photos, 10 video keyframes at 640×360 and 320×180, 6 photos with short text drawn on them): the 11
  such lines read at 31–73 (8 of them at or above min_confidence 50), the 6 drawn texts ("23" on a jersey,
  "30" on a sign, "B", "7", "OK"; a jersey's "5" read as "9") at 97–100. So a line of at most
  SHORT_LINE_CHARS characters (spaces aside) needs short_line_confidence (default 90) as well, and longer
  lines are never held to it. Two kinds of stray pass any bar and are dropped whatever it is: a short line
  whose box covers over a quarter of the picture (the coffee's "8" spans 87 % of it, and read at 99 from
  a PNG of it), and a line with no letter or digit (the stars of Grace Hopper's flag read "***" at 94 and
  "**" at 92): neither is a word anyone searches for, and both became regions in the exports.

Thread safety: with return_word_box fixed at construction, RapidOCR keeps no per-call state on the engine
(the detector reassigns an identical preprocessing object per call; onnxruntime's run() is thread-safe), so
one reader is shared by all pool threads with no lock around inference (checked: concurrent results equal
sequential ones). onnxruntime's intra-op pool is per call: with k pool threads on c cores keep
k * intra_op_num_threads <= c. Measured on 2 cores with a 2-thread pool: intra-op 1 gives twice the
sequential throughput, intra-op 2 is faster per image alone but slower in the pool (oversubscribed).
"""

from __future__ import annotations

import importlib.metadata
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import BoundingBox, TextDetection
from indexer.recognizers.local.ocr_geometry import (
    _is_vertical,
    _quad_box,
    _reading_order,
    _span_box,
    _turn_box,
    _word_spans,
)
from indexer.recognizers.local.rapidocr_engine import (
    DET_MODEL,
    REC_MODEL,
    build_engine,
    detect_in_bands,
    rapidocr_models_dir,
    recognize_crops,
    text_bands,
    turn_crop,
)

if TYPE_CHECKING:
    from rapidocr import RapidOCR

MODEL_NAME = "rapidocr-ppocr"
# Bump when the post-processing below changes what comes out for the same models.
# 2: detection in the bands a half-size look finds; 3: bands up to 80 %; 4: short lines need to be sure;
# 5: lines inside texture-tall look regions (_LOOK_STRONG_BAR); 6: strays dropped at any confidence (_stray)
POSTPROCESS_VERSION = "6"

# rapidocr scales an image whose short side is under 30 px up to 30 px, then pads a wide strip to 1:4 before
# detection, so a very thin strip would cost a detector input of many megapixels (1024×8 px: 4 s, 0.9 GB).
# Images thinner than this many pixels, or whose scaled-up long side would pass the limit, are not read.
_MIN_SIDE = 8
_MAX_UPSCALED_SIDE = 3200
# Orientation: unless the longest lines already read with a width-weighted mean score of _UPRIGHT_SURE (text
# read upside down scored 0.40–0.78 on the test images, upright text 0.96–1.0), they are also read turned
# 180°; the image counts as turned when that scores higher by more than the margin (ties stay upright: "8",
# "O", "SOS" read alike both ways).
_PROBE_LINES = 3
_UPRIGHT_SURE = 0.9
_TURN_MARGIN = 0.02
SHORT_LINE_CHARS = 2  # a line this short (spaces aside) is held to short_line_confidence (module doc)
SHORT_LINE_MAX_AREA = 0.25  # a short line's box covering more of the picture is a stray (module doc)
SHORT_LINE_CONFIDENCE = 90.0

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class _Line:
    text: str
    confidence: float
    box: BoundingBox
    words: tuple[tuple[str, float, BoundingBox], ...]


class RapidOcrReader:
    """Text in an image as Rekognition-style LINE and WORD detections.

    One instance is shared by all worker threads: the engine loads lazily once (under a lock) and read() is
    safe to call concurrently. read() is blocking CPU work (≈0.5–1.5 s for a 1024 px image on one core).
    """

    name = MODEL_NAME

    def __init__(
        self,
        *,
        intra_op_num_threads: int = 1,
        min_confidence: float = 50.0,
        short_line_confidence: float = SHORT_LINE_CONFIDENCE,
        models_dir: Path | None = None,
    ) -> None:
        if intra_op_num_threads < 1:
            raise ValueError("intra_op_num_threads must be >= 1")
        _check_confidence(min_confidence)
        _check_confidence(short_line_confidence)
        self._threads = intra_op_num_threads
        self.min_confidence = min_confidence
        self.short_line_confidence = short_line_confidence
        self._models_dir = models_dir or rapidocr_models_dir()
        stems = ".".join(Path(m).stem for m in (DET_MODEL, REC_MODEL))
        self.version = f"{importlib.metadata.version('rapidocr')}+{stems}.p{POSTPROCESS_VERSION}"
        self._lock = threading.Lock()
        self._engine: RapidOCR | None = None

    # ------------------------------------------------------------------ engine

    def load(self) -> None:
        """Open the models (and run each once); read() calls this itself."""
        self._get_engine()

    def _get_engine(self) -> RapidOCR:
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine = build_engine(self._models_dir, self._threads)
            return self._engine

    # ------------------------------------------------------------------ reading

    def read(
        self,
        image: Image.Image,
        *,
        min_confidence: float | None = None,
        short_line_confidence: float | None = None,
        thorough: bool = False,
    ) -> list[TextDetection]:
        """LINEs in reading order, then the WORDs of each line in reading order; a WORD's parent_index is the
        list index of its LINE. Reading order is top to bottom, then left to right, in the text's own frame:
        for an image read turned 180° that is bottom to top and right to left in image coordinates. Lines
        under min_confidence (0–100, default the reader's) are dropped with their words, and so are lines
        of one or two characters under short_line_confidence (default the reader's; see the module doc);
        words are not filtered on their own.

        Any size is accepted (rapidocr shrinks images over 2000 px). Small print needs pixels: text of about
        12 px font size and up read reliably; at 7–10 px letters and spaces start to go; under 7 px nothing
        usable comes back. Enlarging the image does not help: pass a larger rendition instead.

        thorough: detect text at full size over the whole image, not only where a look at a smaller size
        sees some (rapidocr_engine.text_bands): more lines of small print (7–12 px) on busy photos are
        found, at about twice the time (README: "Local text")."""
        threshold = self.min_confidence if min_confidence is None else min_confidence
        for_short = self.short_line_confidence if short_line_confidence is None else short_line_confidence
        _check_confidence(threshold)
        _check_confidence(for_short)
        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        short, long = min(width, height), max(width, height)
        if short < _MIN_SIDE or (short < 30 and long * 30 / short > _MAX_UPSCALED_SIDE):
            return []
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        turned, found = self._lines(bgr, thorough)
        lines = [
            line
            for line in found
            if line.confidence >= _floor(line.text, threshold, for_short) and not _stray(line)
        ]
        boxes = [_turn_box(line.box) if turned else line.box for line in lines]
        lines = [lines[i] for i in _reading_order(boxes)]
        out = [TextDetection(line.text, line.confidence, "LINE", line.box) for line in lines]
        for index, line in enumerate(lines):
            out.extend(TextDetection(text, conf, "WORD", box, index) for text, conf, box in line.words)
        return out

    def _lines(self, bgr: NDArray[np.uint8], thorough: bool) -> tuple[bool, list[_Line]]:
        """(read turned 180°?, lines in no particular order)"""
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        engine = self._get_engine()
        height, width = bgr.shape[:2]
        img, op_record = engine.preprocess_img(bgr)
        bands = None if thorough else text_bands(engine, img)
        if bands is None:
            try:
                crops, det = engine.detect_and_crop(img, op_record)
            except RapidOCRError:
                return False, []  # nothing detected
            det_quads = np.asarray(det.boxes, dtype=np.float32)  # (N, 4, 2) tl, tr, br, bl in detector pixels
        else:
            det_quads = detect_in_bands(engine, img, bands)
            if not len(det_quads):
                return False, []
            op_record["padding_1"] = {"top": 0, "left": 0}  # what detect_and_crop records for unpadded
            crops = engine.crop_text_regions(img, det_quads)
        quads = np.asarray(map_boxes_to_original(det_quads.copy(), op_record, height, width), np.float64)
        turned, recognized = self._recognize(engine, crops)
        lines: list[_Line] = []
        for i, (text, score, info) in enumerate(recognized):
            tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
            if not tokens:
                continue
            vertical = _is_vertical(det_quads[i])
            words = []
            for word, u0, u1, conf in _word_spans(text, tokens, info, score):
                if turned:  # the recogniser read the crop from its far end
                    u0, u1 = 1.0 - u1, 1.0 - u0
                words.append((word, _percent(conf), _span_box(quads[i], u0, u1, vertical, width, height)))
            lines.append(
                _Line(
                    " ".join(t for t, _, _ in tokens),
                    _percent(score),
                    _quad_box(quads[i], width, height),
                    tuple(words),
                )
            )
        return turned, lines

    def _recognize(
        self, engine: RapidOCR, crops: list[NDArray[np.uint8]]
    ) -> tuple[bool, list[tuple[str, float, object]]]:
        """(turned 180°?, [(text, score 0–1, rapidocr WordInfo)] per crop)."""
        upright = recognize_crops(engine, crops)
        weights = [max(c.shape[1], 1) for c in crops]  # reading length in pixels
        probes = sorted(range(len(crops)), key=lambda i: -weights[i])[:_PROBE_LINES]
        probe_weight = sum(weights[i] for i in probes)
        if sum(weights[i] * upright[i][1] for i in probes) >= _UPRIGHT_SURE * probe_weight:
            return False, upright
        turned = dict(
            zip(probes, recognize_crops(engine, [turn_crop(crops[i]) for i in probes]), strict=True)
        )
        gain = sum(weights[i] * (turned[i][1] - upright[i][1]) for i in probes)
        if gain <= _TURN_MARGIN * probe_weight:
            return False, upright
        rest = [i for i in range(len(crops)) if i not in turned]
        if rest:
            turned.update(
                zip(rest, recognize_crops(engine, [turn_crop(crops[i]) for i in rest]), strict=True)
            )
        return True, [turned[i] for i in range(len(crops))]


def _stray(line: _Line) -> bool:
    """No text whatever its confidence (module doc): no letter or digit, or short and spread over the
    picture."""
    if not any(c.isalnum() for c in line.text):
        return True
    short = len("".join(line.text.split())) <= SHORT_LINE_CHARS
    return short and line.box.width * line.box.height > SHORT_LINE_MAX_AREA


def _floor(text: str, min_confidence: float, short_line_confidence: float) -> float:
    """The confidence a line needs: a stray-glyph-short one is held to the higher of the two."""
    if len("".join(text.split())) <= SHORT_LINE_CHARS:
        return max(min_confidence, short_line_confidence)
    return min_confidence


def _percent(score: float) -> float:
    return round(min(max(float(score) * 100.0, 0.0), 100.0), 2)


def _check_confidence(value: float) -> None:
    if not 0 <= value <= 100:
        raise ValueError("min_confidence must be within 0..100")
