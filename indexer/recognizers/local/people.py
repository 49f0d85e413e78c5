"""Local people detector: OpenCV's HOG + linear SVM pedestrian detector (Dalal & Triggs), whose coefficients
are built into OpenCV (no model file). It needs opencv-python-headless 4.x: plain 5.0 dropped it.

What it can and cannot do: its window is a whole upright pedestrian (64×128 px), so it finds standing
people that are at least ≈ 128 px tall in the working image (≤ 640 px long side: a fifth of the frame).
It does not find half-length portraits, seated or bent people, or small distant ones, and it fires on
upright textures (lines of text, a helmet). On scikit-image's samples it misses the astronaut and the
cameraman and fires on the astronaut's helmet. A visible face, though, is a person: give detect() the
faces found in the same image and each becomes a person too (see people_from_faces).

Confidence (0–100) is a fixed logistic squashing of the SVM margin w (0 is the SVM's own boundary):
    confidence = 100 / (1 + exp(-3 w))
w = 0 → 50, 0.5 → 82, 1 → 95, 2 → 99.75. Not a calibrated probability.

On an image smaller than its window OpenCV's HOG corrupts the heap (glibc aborts the process, seen here
with 1×1, 6×640 and 100×100 px) or raises, so such images get no people before OpenCV sees them.

A HOGDescriptor costs ~10 µs to build, so each call builds its own and nothing is shared between threads.
detectMultiScale releases the GIL and spreads each call over OpenCV's own threads (≈ 2 cores' CPU time
in 1 core's wall time here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import BoundingBox, Face, Instance
from indexer.recognizers.local.model_files import rgb_array

MODEL_NAME = "opencv-hog-people"
WINDOW_WIDTH, WINDOW_HEIGHT = 64, 128  # the default people detector's window
_CONFIDENCE_SLOPE = 3.0

# person box from a face box, in face sizes (same axis, so no aspect ratio needed): head-and-body estimate
_BODY_WIDTH = 3.0  # shoulders are about three face widths
_BODY_ABOVE = 0.5  # hair above the face box
_BODY_BELOW = 7.0  # a standing adult is about 7.5 heads tall; the frame usually cuts it sooner
_FACE_IN_PERSON = 0.5  # a face taller than this share of a HOG box is not that box's person's face


def person_confidence(margin: float) -> float:
    """SVM margin → confidence 0–100 (two decimals), see the module doc."""
    z = min(60.0, max(-60.0, _CONFIDENCE_SLOPE * margin))
    return round(100.0 / (1.0 + math.exp(-z)), 2)


class HogPeopleDetector:
    """Person boxes (Rekognition's "Person" instances) from OpenCV's HOG people detector.

    max_side: the image is scaled down (never up) to this long side first; time grows with its square.
    win_stride: window step in px (a multiple of the 8 px block stride); 8 is OpenCV's usual, 4 is ~3×
        slower, 16 ~20 % faster but coarser.
    scale: step between pyramid levels; OpenCV's default 1.05 is ~2× slower than 1.1 (≈ 100–120 vs 50–60 ms
        on a 640×640 image here) and better for people sized between the sampled levels.
    padding: px added around the image so people touching the border still fit a window.
    min_score: SVM margin threshold (0 = the SVM's boundary, confidence 50).
    nms_overlap: a box is suppressed by a stronger one when their IoU, or the share of the smaller box
        inside the larger, reaches this.
    """

    name = MODEL_NAME

    def __init__(
        self,
        *,
        max_side: int = 640,
        win_stride: int = 8,
        scale: float = 1.1,
        padding: int = 8,
        min_score: float = 0.0,
        nms_overlap: float = 0.5,
    ) -> None:
        if max_side < WINDOW_HEIGHT:
            raise ValueError(f"max_side must be >= {WINDOW_HEIGHT}")
        if win_stride <= 0 or win_stride % 8:
            raise ValueError("win_stride must be a positive multiple of 8")
        if scale <= 1.0:
            raise ValueError("scale must be > 1")
        if padding < 0 or padding % 8:
            raise ValueError("padding must be a non-negative multiple of 8")
        if not 0 < nms_overlap <= 1:
            raise ValueError("nms_overlap must be within (0, 1]")
        self.max_side = max_side
        self.win_stride = win_stride
        self.scale = scale
        self.padding = padding
        self.min_score = min_score
        self.nms_overlap = nms_overlap
        self.version = f"{cv2.__version__}+default-people-detector"
        self._coefficients = np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32)

    @property
    def parameters(self) -> Mapping[str, float | int | str | bool]:
        """What shapes the output besides the version: for RecognitionResult.parameters."""
        return {
            "max_side": self.max_side,
            "win_stride": self.win_stride,
            "scale": self.scale,
            "padding": self.padding,
            "min_score": self.min_score,
            "nms_overlap": self.nms_overlap,
        }

    def load(self) -> None:
        """Nothing to load (the coefficients are built into OpenCV); here for symmetry with the others."""

    def detect(self, image: Image.Image, *, faces: Sequence[Face] = ()) -> list[Instance]:
        """People in an image (any mode), most confident first. `faces` found in the same image add the
        people HOG misses (see merge_with_faces)."""
        people = self._hog(image)
        return merge_with_faces(people, faces) if faces else people

    def _hog(self, image: Image.Image) -> list[Instance]:
        pixels = rgb_array(image, self.max_side)  # HOG takes the strongest gradient over channels: order moot
        height, width = pixels.shape[:2]
        if width < WINDOW_WIDTH or height < WINDOW_HEIGHT:
            return []  # no person fits; and OpenCV would corrupt the heap (see the module doc)
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(self._coefficients)
        rects, weights = hog.detectMultiScale(
            pixels,
            hitThreshold=self.min_score,
            winStride=(self.win_stride, self.win_stride),
            padding=(self.padding, self.padding),
            scale=self.scale,
            groupThreshold=0,  # raw hits: non-maximum suppression below keeps the strongest
        )
        if len(rects) == 0:
            return []
        boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(weights, dtype=np.float64).reshape(-1)
        keep = non_max_suppression(boxes, scores, self.nms_overlap)
        return [
            Instance(box=_ratio_box(boxes[i], width, height), confidence=person_confidence(float(scores[i])))
            for i in keep
        ]


def non_max_suppression(boxes: NDArray[np.float64], scores: NDArray[np.float64], overlap: float) -> list[int]:
    """Greedy NMS on (x, y, w, h) boxes: indices kept, strongest first (ties: by position, so the answer
    does not depend on the order OpenCV's threads report hits in). A box goes when its IoU with a kept
    box, or the share of the smaller one inside the other, reaches `overlap`: HOG also fires on a person's
    upper half at a smaller scale, which IoU alone would keep."""
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    order = np.lexsort((boxes[:, 3], boxes[:, 2], y0, x0, -scores))
    keep: list[int] = []
    alive = np.ones(len(boxes), dtype=bool)
    for i in order:
        if not alive[i]:
            continue
        keep.append(int(i))
        iw = np.clip(np.minimum(x1[i], x1) - np.maximum(x0[i], x0), 0.0, None)
        ih = np.clip(np.minimum(y1[i], y1) - np.maximum(y0[i], y0), 0.0, None)
        inter = iw * ih
        iou = inter / np.maximum(area[i] + area - inter, 1e-9)
        inside = inter / np.maximum(np.minimum(area[i], area), 1e-9)
        alive &= (iou < overlap) & (inside < overlap)
    return keep


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _ratio_box(box: NDArray[np.float64], width: int, height: int) -> BoundingBox:
    """(x, y, w, h) px → ratios of the image, clipped to it (padding lets boxes overhang the edges)."""
    x, y, w, h = (float(v) for v in box)
    left, top = _clip(x / width), _clip(y / height)
    right, bottom = _clip((x + w) / width), _clip((y + h) / height)
    return BoundingBox(left=left, top=top, width=right - left, height=bottom - top)


def people_from_faces(faces: Sequence[Face]) -> list[Instance]:
    """A rough person box for each face (the same confidence: a face is a person): three face widths
    wide, from half a face above it down seven face heights or to the frame's edge."""
    people = []
    for face in faces:
        b = face.box
        center = b.left + b.width / 2
        left, right = _clip(center - _BODY_WIDTH * b.width / 2), _clip(center + _BODY_WIDTH * b.width / 2)
        top, bottom = _clip(b.top - _BODY_ABOVE * b.height), _clip(b.top + _BODY_BELOW * b.height)
        box = BoundingBox(left=left, top=top, width=right - left, height=bottom - top)
        people.append(Instance(box=box, confidence=face.confidence))
    return people


def _contains_point(box: BoundingBox, x: float, y: float) -> bool:
    return box.left <= x <= box.left + box.width and box.top <= y <= box.top + box.height


def merge_with_faces(people: Sequence[Instance], faces: Sequence[Face]) -> list[Instance]:
    """HOG people plus the people faces show, most confident first.

    A HOG box holding a face's center (a face at most half its height) is that face's person: it is kept,
    with the face's confidence if that is higher. Every other face adds its person box (people_from_faces).
    HOG boxes holding no face stay as they are: a standing person may be turned away.
    """
    claimed: set[int] = set()
    merged: list[Instance] = []
    for person in people:
        inside = [
            i
            for i, face in enumerate(faces)
            if face.box.height <= _FACE_IN_PERSON * person.box.height
            and _contains_point(
                person.box, face.box.left + face.box.width / 2, face.box.top + face.box.height / 2
            )
        ]
        claimed.update(inside)
        best = max([person.confidence, *(faces[i].confidence for i in inside)])
        merged.append(Instance(box=person.box, confidence=best))
    merged.extend(people_from_faces([face for i, face in enumerate(faces) if i not in claimed]))
    merged.sort(key=lambda p: (-p.confidence, p.box.left, p.box.top))
    return merged
