"""RapidOCR's PP-OCR detection and recognition models on onnxruntime, as the local text recognizer
(local_text) drives them. Both ONNX files ship inside the rapidocr wheel and are passed by path, so
rapidocr's download code is never reached (the recogniser's character list is read from the model's own
metadata).

Detection runs at the image's own resolution (rapidocr's default scales the short side up to 736 px: a
1024×200 banner became a 3768×736 detector input, took 10–40× longer, and the enlarged word gaps split one
line into several; at native resolution it also stopped finding "text" in skimage's chelsea()). Lines of
7 px font size are still found in a 1024 px preview; enlarging the preview adds nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

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
