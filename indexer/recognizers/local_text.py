"""Local text recognizer: RapidOCR's PP-OCR models on onnxruntime, shaped like Rekognition's DetectText.

Pipeline: rapidocr 3.10's own detection (PP-OCRv6 small, DB line boxes) and recognition (PP-OCRv6 small,
CTC) steps, driven here so the parts it gets wrong can be done right. Both ONNX files ship inside the
rapidocr wheel and are passed by path, so rapidocr's download code is never reached (the recogniser's
character list is read from the model's own metadata).

Differences from calling rapidocr.RapidOCR directly, each measured on real and rendered images:
- Detection runs at the image's own resolution (rapidocr's default scales the short side up to 736 px: a
  1024×200 banner became a 3768×736 detector input, took 10–40× longer, and the enlarged word gaps split
  one line into several; at native resolution it also stopped finding "text" in skimage's chelsea()).
  Lines of 7 px font size are still found in a 1024 px preview; enlarging the preview adds nothing.
- Orientation: rapidocr's 0°/180° line classifier (PP-OCR v2.0 mobile) is unreliable on photographed text
  (on skimage's upright page() it called most lines upside down), so it is not used. Instead, unless the
  (up to) three longest lines already read with high confidence, they are also recognised turned 180°; if
  that reads clearly better, the whole image is read turned. Text is assumed to share one orientation per
  image (lines of another orientation come back as low-confidence gibberish or not at all).
- Word boxes. rapidocr's return_word_box gives each English word the confidence of one *character* (it zips
  per-character scores with words), cuts words at wide CTC gaps rather than at spaces, and breaks every word
  of a line that also holds CJK into single characters. Here a WORD is a whitespace-separated token of its
  LINE (as in Rekognition); its extent comes from the CTC time steps at which the recogniser emitted the
  token's first and last characters (the same alignment rapidocr and PaddleOCR use), widened by half the
  line's median character pitch each side, then mapped back through the line's quadrilateral. Measured
  against Pillow's glyph boxes: horizontal IoU 0.84 on average, lower for runs of very narrow or very wide
  letters ("I", "WWW"). Without that alignment, a line is split in proportion to character counts.
- Confidence: a LINE's is the recogniser's mean character probability (rapidocr's score) × 100; a WORD's is
  the mean probability of its own characters × 100. The detector's box score is not folded in. Textured or
  plain photos can still yield a stray one- or two-character "line" (digits, O, G) with any confidence.

Thread safety: with return_word_box fixed at construction, RapidOCR keeps no per-call state on the engine
(the detector reassigns an identical preprocessing object per call; onnxruntime's run() is thread-safe), so
one reader is shared by all pool threads with no lock around inference (checked: concurrent results equal
sequential ones). onnxruntime's intra-op pool is per call: with k pool threads on c cores keep
k * intra_op_num_threads <= c. Measured on 2 cores with a 2-thread pool: intra-op 1 gives twice the
sequential throughput, intra-op 2 is faster per image alone but slower in the pool (oversubscribed).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import itertools
import re
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.model import BoundingBox, TextDetection

if TYPE_CHECKING:
    from rapidocr import RapidOCR

MODEL_NAME = "rapidocr-ppocr"
# Bump when the post-processing below changes what comes out for the same models.
POSTPROCESS_VERSION = "1"

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"

# Longest side the detector sees: above it the detector input is shrunk. rapidocr itself already caps images
# at 2000 px, so this keeps detection at the image's own resolution.
_DET_MAX_SIDE = 2048
# How far a detected text region is grown into the line box that is cut out for recognition (rapidocr: 1.6).
# At native resolution 1.6 cut so tight that a word space was lost ("CAFE ROMA" read "CAFEROMA" at 0.999);
# 2.0 read every test image right.
_DET_UNCLIP_RATIO = 2.0
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

_TOKEN = re.compile(r"\S+")


def rapidocr_models_dir() -> Path:
    """The models folder inside the installed rapidocr package (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("rapidocr is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


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
        models_dir: Path | None = None,
    ) -> None:
        if intra_op_num_threads < 1:
            raise ValueError("intra_op_num_threads must be >= 1")
        _check_confidence(min_confidence)
        self._threads = intra_op_num_threads
        self.min_confidence = min_confidence
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
                self._engine = self._build_engine()
            return self._engine

    def _build_engine(self) -> RapidOCR:
        from rapidocr import EngineType, ModelType, OCRVersion, RapidOCR
        from rapidocr.main import RapidOCRError

        paths = {"Det": self._models_dir / DET_MODEL, "Rec": self._models_dir / REC_MODEL}
        for path in paths.values():
            if not path.is_file():
                raise FileNotFoundError(f"OCR model missing (it ships inside the rapidocr wheel): {path}")
        params: dict[str, object] = {
            "Global.log_level": "warning",
            "Global.use_cls": False,
            "Global.return_word_box": True,  # keeps the CTC alignment (WordInfo) in the recogniser output
            "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
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

    # ------------------------------------------------------------------ reading

    def read(self, image: Image.Image, *, min_confidence: float | None = None) -> list[TextDetection]:
        """LINEs in reading order, then the WORDs of each line in reading order; a WORD's parent_index is the
        list index of its LINE. Reading order is top to bottom, then left to right, in the text's own frame:
        for an image read turned 180° that is bottom to top and right to left in image coordinates. Lines
        under min_confidence (0–100, default the reader's) are dropped with their words; words are not
        filtered on their own.

        Any size is accepted (rapidocr shrinks images over 2000 px). Small print needs pixels: text of about
        12 px font size and up read reliably; at 7–10 px letters and spaces start to go; under 7 px nothing
        usable comes back. Enlarging the image does not help: pass a larger rendition instead."""
        threshold = self.min_confidence if min_confidence is None else min_confidence
        _check_confidence(threshold)
        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        short, long = min(width, height), max(width, height)
        if short < _MIN_SIDE or (short < 30 and long * 30 / short > _MAX_UPSCALED_SIDE):
            return []
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        turned, found = self._lines(bgr)
        lines = [line for line in found if line.confidence >= threshold]
        boxes = [_turn_box(line.box) if turned else line.box for line in lines]
        lines = [lines[i] for i in _reading_order(boxes)]
        out = [TextDetection(line.text, line.confidence, "LINE", line.box) for line in lines]
        for index, line in enumerate(lines):
            out.extend(TextDetection(text, conf, "WORD", box, index) for text, conf, box in line.words)
        return out

    def _lines(self, bgr: NDArray[np.uint8]) -> tuple[bool, list[_Line]]:
        """(read turned 180°?, lines in no particular order)"""
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        engine = self._get_engine()
        height, width = bgr.shape[:2]
        img, op_record = engine.preprocess_img(bgr)
        try:
            crops, det = engine.detect_and_crop(img, op_record)
        except RapidOCRError:
            return False, []  # nothing detected
        det_quads = np.asarray(det.boxes, dtype=np.float32)  # (N, 4, 2) tl, tr, br, bl in detector pixels
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
        upright = _recognize_crops(engine, crops)
        weights = [max(c.shape[1], 1) for c in crops]  # reading length in pixels
        probes = sorted(range(len(crops)), key=lambda i: -weights[i])[:_PROBE_LINES]
        probe_weight = sum(weights[i] for i in probes)
        if sum(weights[i] * upright[i][1] for i in probes) >= _UPRIGHT_SURE * probe_weight:
            return False, upright
        turned = dict(zip(probes, _recognize_crops(engine, [_turn(crops[i]) for i in probes]), strict=True))
        gain = sum(weights[i] * (turned[i][1] - upright[i][1]) for i in probes)
        if gain <= _TURN_MARGIN * probe_weight:
            return False, upright
        rest = [i for i in range(len(crops)) if i not in turned]
        if rest:
            turned.update(zip(rest, _recognize_crops(engine, [_turn(crops[i]) for i in rest]), strict=True))
        return True, [turned[i] for i in range(len(crops))]


def _turn(crop: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return np.ascontiguousarray(crop[::-1, ::-1])


def _recognize_crops(engine: RapidOCR, crops: list[NDArray[np.uint8]]) -> list[tuple[str, float, object]]:
    rec = engine.recognize_txt(crops)
    txts, scores, infos = rec.txts or (), rec.scores, rec.word_results
    if len(txts) != len(crops) or len(scores) != len(crops) or len(infos) != len(crops):
        raise RuntimeError(f"rapidocr returned {len(txts)} texts for {len(crops)} text lines")
    return [(str(t), float(s), i) for t, s, i in zip(txts, scores, infos, strict=True)]


# ---------------------------------------------------------------------- geometry


def _word_spans(
    text: str, tokens: Sequence[tuple[str, int, int]], info: object, line_score: float
) -> list[tuple[str, float, float, float]]:
    """(word, u0, u1, confidence 0–1) per token; u is the fraction of the line crop's reading length."""
    from rapidocr.ch_ppocr_rec.typings import WordInfo

    columns: list[int] = []
    char_confs: list[float] = []
    steps = 0.0
    if isinstance(info, WordInfo):
        columns = [int(c) for cols in info.word_cols for c in cols]
        char_confs = [float(c) for c in info.confs]
        steps = float(info.line_txt_len)
    visible = [k for k, ch in enumerate(text) if not ch.isspace()]
    if steps <= 0 or len(columns) != len(visible) or len(char_confs) != len(text):
        # no usable alignment: proportional to character counts, the line's own confidence for each word
        n = len(text)
        return [(word, start / n, end / n, line_score) for word, start, end in tokens]

    column = dict(zip(visible, columns, strict=True))
    gaps = [column[k + 1] - column[k] for _, start, end in tokens for k in range(start, end - 1)]
    pitch = statistics.median(gaps) if gaps else steps / len(text)
    spans: list[list[float]] = []
    for _, start, end in tokens:
        u0 = (column[start] + 0.5 - pitch / 2.0) / steps
        u1 = (column[end - 1] + 0.5 + pitch / 2.0) / steps
        spans.append([u0, u1])
    for left, right in itertools.pairwise(spans):  # neighbours must not overlap
        if left[1] > right[0]:
            left[1] = right[0] = (left[1] + right[0]) / 2.0
    return [
        (word, min(max(u0, 0.0), 1.0), min(max(u1, 0.0), 1.0), statistics.fmean(char_confs[start:end]))
        for (word, start, end), (u0, u1) in zip(tokens, spans, strict=True)
    ]


def _is_vertical(det_quad: NDArray[np.float32]) -> bool:
    """rapidocr's rule for turning a crop 90° before recognition (so its reading axis runs down the quad)."""
    p0, p1, p2, p3 = det_quad.astype(np.float64)
    crop_w = int(max(np.linalg.norm(p0 - p1), np.linalg.norm(p2 - p3)))
    crop_h = int(max(np.linalg.norm(p0 - p3), np.linalg.norm(p1 - p2)))
    return crop_w > 0 and crop_h / crop_w >= 1.5


def _span_box(
    quad: NDArray[np.float64], u0: float, u1: float, vertical: bool, width: int, height: int
) -> BoundingBox:
    p0, p1, p2, p3 = quad
    # a horizontal crop reads along the top/bottom edges; a vertical one was turned 90° counter-clockwise,
    # so it reads down the left/right edges
    (a0, a1), (b0, b1) = ((p0, p3), (p1, p2)) if vertical else ((p0, p1), (p3, p2))
    points = np.array([a0 + u0 * (a1 - a0), a0 + u1 * (a1 - a0), b0 + u0 * (b1 - b0), b0 + u1 * (b1 - b0)])
    return _quad_box(points, width, height)


def _quad_box(points: NDArray[np.float64], width: int, height: int) -> BoundingBox:
    left = min(max(float(points[:, 0].min()) / width, 0.0), 1.0)
    right = min(max(float(points[:, 0].max()) / width, 0.0), 1.0)
    top = min(max(float(points[:, 1].min()) / height, 0.0), 1.0)
    bottom = min(max(float(points[:, 1].max()) / height, 0.0), 1.0)
    return BoundingBox(left=left, top=top, width=right - left, height=bottom - top)


def _turn_box(box: BoundingBox) -> BoundingBox:
    """The box in the image turned 180°."""
    return BoundingBox(1.0 - box.left - box.width, 1.0 - box.top - box.height, box.width, box.height)


def _reading_order(boxes: Sequence[BoundingBox]) -> list[int]:
    """Indexes top to bottom, then left to right: a box whose vertical centre falls inside the band of the
    first (topmost) box of the current row belongs to that row."""
    rows: list[tuple[float, list[int]]] = []  # (bottom of the row's first box, members)
    for i in sorted(range(len(boxes)), key=lambda i: (boxes[i].top, boxes[i].left)):
        centre = boxes[i].top + boxes[i].height / 2.0
        if rows and centre <= rows[-1][0]:
            rows[-1][1].append(i)
        else:
            rows.append((boxes[i].top + boxes[i].height, [i]))
    return [i for _, members in rows for i in sorted(members, key=lambda i: boxes[i].left)]


def _percent(score: float) -> float:
    return round(min(max(float(score) * 100.0, 0.0), 100.0), 2)


def _check_confidence(value: float) -> None:
    if not 0 <= value <= 100:
        raise ValueError("min_confidence must be within 0..100")
