"""Local face recognizer: dlib's HOG face detector, 5-point landmarks and 128-d ResNet face embeddings.

The model files ship in the PyPI package `face_recognition_models` (0.3.0). Importing that package runs
`pkg_resources`, which new setuptools no longer has, so the files are located with importlib.util.find_spec
and the package itself is never imported.

Detection is dlib's HOG + linear SVM frontal face detector. Its raw score is the SVM margin (0 is dlib's
own threshold; clear frontal faces score about 1–3). HOG alone fires on face-like textures (on
skimage's astronaut photo it finds the round mission patch at margin 0.12 when upsampling once), so a
candidate scoring below `verify_below` must be confirmed by dlib's CNN face detector (MMOD, also in the
package) run on a small crop around it. That rejects the patch, and it confirmed every real face HOG
proposed down to margin -0.5 (99 candidates on 98 of scikit-image's 100 enlarged LFW faces; none on its
100 LFW non-faces), so the HOG threshold can sit below 0 (`min_score`) and find faces HOG alone misses
(the half-turned cameraman in skimage's camera photo, margin -0.11).

Confidence (0–100) is a fixed logistic squashing of the HOG margin s:
    confidence = 100 / (1 + exp(-4 (s + 0.5)))
s = -0.3 → 69, 0 → 88, 0.5 → 98.2, 1 → 99.75. It orders faces and is stable across versions; it is not a
calibrated probability. It does not depend on the constructor's parameters, so runs stay comparable.

Thread safety, as read from dlib's sources and measured with dlib 20.0:
- the HOG detector is NOT thread-safe: object_detector::operator() loads the image pyramid into a member
  scanner (two threads sharing one crashed with SIGSEGV here). It releases the GIL while it runs, so
  separate instances really run in parallel: instances come from a free list (a copy of a prototype
  costs ~4 ms; building one from scratch ~400 ms);
- the shape predictor's operator() is const: one instance is shared;
- the ResNet encoder and the CNN verifier keep per-call state in the network object and hold the GIL
  while they run (0.09–0.15 s per face here), so copies would not run in parallel anyway (measured: no
  gain): one instance each, behind one lock. Holding the GIL, they also pause the asyncio event loop for
  that long, whichever thread calls them.
"""

from __future__ import annotations

import importlib.util
import math
import pickle
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlib
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import BoundingBox, Face, Landmark
from indexer.recognizers.local.face_regions import Rect, regions_to_rescan, same_face
from indexer.recognizers.local.model_files import rgb_array

MODEL_NAME = "dlib-face-recognition"
MODELS_PACKAGE = "face_recognition_models"
SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"
VERIFIER_FILE = "mmod_human_face_detector.dat"
EMBEDDING_SIZE = 128

_CONFIDENCE_CENTER = -0.5  # HOG margin mapped to 50
_CONFIDENCE_SLOPE = 4.0
_MAX_UPSAMPLE = 2
_VERIFY_FACE_PX = 80  # the CNN verifier sees the candidate scaled to this width: its comfortable size
_VERIFY_PAD = 0.25  # context around the candidate, as a fraction of its size, on each side
_VERIFY_MIN_IOU = 0.3  # a CNN face must overlap the candidate this much to confirm it

# parts of dlib's 5-point model: 0-1 corners of the eye on the image's right, 2-3 the eye on the image's
# left, 4 the base of the nose. Rekognition's eyeLeft is the eye on the image's left (smaller X).
_EYE_LEFT_PARTS = (2, 3)
_EYE_RIGHT_PARTS = (0, 1)
_NOSE_PART = 4


def default_models_dir() -> Path:
    """Where face_recognition_models keeps its .dat files (found without importing the package)."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{MODELS_PACKAGE} is not installed (pip install {MODELS_PACKAGE}==0.3.0)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def face_confidence(score: float) -> float:
    """HOG SVM margin → confidence 0–100 (two decimals), see the module doc."""
    z = _CONFIDENCE_SLOPE * (score - _CONFIDENCE_CENTER)
    z = min(60.0, max(-60.0, z))  # exp overflows far out; the result is 0 or 100 there anyway
    return round(100.0 / (1.0 + math.exp(-z)), 2)


def face_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean distance between two embeddings; below SAME_PERSON_DISTANCE means the same person."""
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if va.ndim != 1 or va.shape != vb.shape:
        raise ValueError(f"embeddings must be vectors of one length, got {va.shape} and {vb.shape}")
    return float(np.linalg.norm(va - vb))


@dataclass(frozen=True)
class _SharedModels:
    shape_predictor: Any  # const in use: shared freely
    encoder: Any  # not thread-safe: use under dnn_lock
    verifier: Any  # not thread-safe: use under dnn_lock
    dnn_lock: threading.Lock
    detector_prototype: bytes  # a pickled HOG detector: unpickling is 100× faster than building one


# One set of models per models directory for the whole process, however many recognizers.
_shared: dict[Path, _SharedModels] = {}
_shared_lock = threading.Lock()


def _load_shared(models_dir: Path) -> _SharedModels:
    models = _shared.get(models_dir)
    if models is not None:
        return models
    with _shared_lock:
        models = _shared.get(models_dir)
        if models is None:
            paths = [models_dir / name for name in (SHAPE_PREDICTOR_FILE, ENCODER_FILE, VERIFIER_FILE)]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise FileNotFoundError(f"dlib model files missing: {', '.join(missing)}")
            models = _SharedModels(
                shape_predictor=dlib.shape_predictor(str(paths[0])),
                encoder=dlib.face_recognition_model_v1(str(paths[1])),
                verifier=dlib.cnn_face_detection_model_v1(str(paths[2])),
                dnn_lock=threading.Lock(),
                detector_prototype=pickle.dumps(dlib.get_frontal_face_detector()),
            )
            _shared[models_dir] = models
        return models


class DlibFaceRecognizer:
    """Faces with boxes, Rekognition-named landmarks (eyeLeft, eyeRight, nose) and 128-d embeddings.

    One instance may be shared by all worker threads (see the module doc); detect() is blocking CPU work.

    upsample: how often the HOG detector doubles the image before scanning. Its window is 80×80 px, so the
    smallest face found is ≈ 80 / 2**upsample px wide; each step quadruples the pixels and the time
    (HOG alone on a 1024 px image here: 0 → 0.1–0.15 s, 1 → 0.42 s, 2 → 1.7 s). 1 finds faces ≥ 40 px.
    person_upsample: the upsampling for the head regions of the people given to detect() whose face the
        whole-image scan did not find (face_regions); only used when above `upsample`. upsample 0 with
        person_upsample 1 finds the small faces of the people the object detector sees at a fraction of
        upsample 1's cost.
    min_score: HOG margin threshold (dlib's own is 0); lower finds more, the verifier weeds out the rest.
    verify_below: candidates scoring below this must be confirmed by the CNN detector (0.1–0.125 s each);
        None turns verification off (and lets HOG's low-scoring false faces through).
    min_face_px: faces narrower than this (in the analyzed image) are dropped: small faces give less
        reliable embeddings. Each face kept costs one embedding (0.09–0.15 s).
    max_side: larger images are scaled down to this long side first (the preview is ≤ 1024 already).
    """

    name = MODEL_NAME

    def __init__(
        self,
        *,
        upsample: int = 1,
        person_upsample: int = 1,
        min_score: float = -0.3,
        verify_below: float | None = 0.5,
        min_face_px: int = 0,
        max_side: int = 1024,
        models_dir: Path | None = None,
    ) -> None:
        if not (0 <= upsample <= _MAX_UPSAMPLE and 0 <= person_upsample <= _MAX_UPSAMPLE):
            raise ValueError(f"upsample and person_upsample must be within 0..{_MAX_UPSAMPLE}")
        if min_face_px < 0:
            raise ValueError("min_face_px must be >= 0")
        if max_side < 1:
            raise ValueError("max_side must be >= 1")
        self.upsample = upsample
        self.person_upsample = person_upsample
        self.min_score = min_score
        self.verify_below = verify_below
        self.min_face_px = min_face_px
        self.max_side = max_side
        self._models_dir = models_dir or default_models_dir()
        self.version = f"{dlib.__version__}+{Path(ENCODER_FILE).stem}"
        self._free_detectors: list[Any] = []
        self._free_lock = threading.Lock()

    @property
    def parameters(self) -> Mapping[str, float | int | str | bool]:
        """What shapes the output besides the version: for RecognitionResult.parameters."""
        return {
            "upsample": self.upsample,
            "person_upsample": self.person_upsample,
            "min_score": self.min_score,
            "verify_below": "off" if self.verify_below is None else self.verify_below,
            "verifier": Path(VERIFIER_FILE).stem,
            "landmarks": Path(SHAPE_PREDICTOR_FILE).stem,
            "min_face_px": self.min_face_px,
            "max_side": self.max_side,
        }

    def load(self) -> None:
        """Load the models now (once per process); detect() calls this itself."""
        models = _load_shared(self._models_dir)
        with self._detector(models):
            pass

    @contextmanager
    def _detector(self, models: _SharedModels) -> Iterator[Any]:
        """A HOG detector no other thread is using, returned to the free list afterwards."""
        with self._free_lock:
            detector = self._free_detectors.pop() if self._free_detectors else None
        if detector is None:
            detector = pickle.loads(models.detector_prototype)  # our own bytes, made in _load_shared
        try:
            yield detector
        finally:
            with self._free_lock:
                self._free_detectors.append(detector)

    def detect(
        self,
        image: Image.Image,
        *,
        people: Sequence[BoundingBox] = (),
        find_people: Callable[[], Sequence[BoundingBox]] | None = None,
    ) -> list[Face]:
        """Faces in an image (any mode; converted to RGB), most confident first.

        people: person boxes found in the same image (the object detector's). When person_upsample is
        above upsample, the head region of each person whose face the whole-image scan missed is scanned
        again at person_upsample (see face_regions).
        find_people: instead of `people`, where finding them has a cost of its own: called for the person
        boxes only when the whole-image scan found no face (a video's keyframe runs the detector only
        then)."""
        pixels = rgb_array(image, self.max_side)
        height, width = pixels.shape[:2]
        if width == 0 or height == 0:
            return []
        models = _load_shared(self._models_dir)
        kept: list[tuple[float, Any]] = self._verified(
            models, pixels, self._scan(models, pixels, self.upsample)
        )
        if not kept and find_people is not None and self.person_upsample > self.upsample:
            people = find_people()
        if people and self.person_upsample > self.upsample:
            kept += self._rescan_heads(models, pixels, people, kept)
            kept.sort(key=lambda c: -c[0])
        if not kept:
            return []
        shapes = dlib.full_object_detections([models.shape_predictor(pixels, r) for _, r in kept])
        with models.dnn_lock:
            vectors = models.encoder.compute_face_descriptor(pixels, shapes)
        return [
            Face(
                box=_box(rect, width, height),
                confidence=face_confidence(score),
                landmarks=_landmarks(shape, width, height),
                embedding=tuple(float(x) for x in vector),
            )
            for (score, rect), shape, vector in zip(kept, shapes, vectors, strict=True)
        ]

    def _scan(
        self, models: _SharedModels, pixels: NDArray[np.uint8], upsample: int
    ) -> list[tuple[float, Any]]:
        """HOG candidates (margin, dlib rectangle), best first."""
        with self._detector(models) as detector:
            rects, scores, _ = detector.run(pixels, upsample, self.min_score)
        return sorted(((float(s), r) for s, r in zip(scores, rects, strict=True)), key=lambda c: -c[0])

    def _verified(
        self, models: _SharedModels, pixels: NDArray[np.uint8], candidates: Sequence[tuple[float, Any]]
    ) -> list[tuple[float, Any]]:
        """The candidates wide enough, and confirmed by the CNN verifier when HOG is unsure."""
        return [
            (score, rect)
            for score, rect in candidates
            if rect.width() >= self.min_face_px
            and (self.verify_below is None or score >= self.verify_below or _confirmed(models, pixels, rect))
        ]

    def _rescan_heads(
        self,
        models: _SharedModels,
        pixels: NDArray[np.uint8],
        people: Sequence[BoundingBox],
        found: Sequence[tuple[float, Any]],
    ) -> list[tuple[float, Any]]:
        """Faces in the head regions of the people without one yet, scanned at person_upsample (each face
        once, however many regions overlap it)."""
        height, width = pixels.shape[:2]
        seen = [_rect(r) for _, r in found]
        added: list[tuple[float, Any]] = []
        for x0, y0, x1, y1 in regions_to_rescan(people, seen, width, height):
            region = np.ascontiguousarray(pixels[y0:y1, x0:x1])
            candidates = [
                (score, dlib.rectangle(r.left() + x0, r.top() + y0, r.right() + x0, r.bottom() + y0))
                for score, r in self._scan(models, region, self.person_upsample)
            ]
            fresh = [c for c in candidates if not any(same_face(_rect(c[1]), s) for s in seen)]
            seen += [_rect(r) for _, r in fresh]  # verified or not: one verdict per face
            added += self._verified(models, pixels, fresh)
        return added


def _confirmed(models: _SharedModels, pixels: NDArray[np.uint8], rect: Any) -> bool:
    """Does dlib's CNN face detector see a face where HOG put this candidate?"""
    height, width = pixels.shape[:2]
    side = max(rect.width(), rect.height())
    pad = round(side * _VERIFY_PAD)
    left, top = max(0, rect.left() - pad), max(0, rect.top() - pad)
    right, bottom = min(width, rect.right() + 1 + pad), min(height, rect.bottom() + 1 + pad)
    if right <= left or bottom <= top:
        return False
    scale = _VERIFY_FACE_PX / side
    crop = Image.fromarray(pixels[top:bottom, left:right]).resize(
        (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))),
        Image.Resampling.BILINEAR,
    )
    crop_pixels = np.ascontiguousarray(np.asarray(crop))
    with models.dnn_lock:
        found = models.verifier(crop_pixels, 0)
    # the candidate in crop coordinates
    cx0, cy0 = (rect.left() - left) * scale, (rect.top() - top) * scale
    cx1, cy1 = (rect.right() + 1 - left) * scale, (rect.bottom() + 1 - top) * scale
    for detection in found:
        r = detection.rect
        if _iou((cx0, cy0, cx1, cy1), (r.left(), r.top(), r.right() + 1, r.bottom() + 1)) >= _VERIFY_MIN_IOU:
            return True
    return False


def _rect(rect: Any) -> Rect:
    """dlib's inclusive rectangle → (left, top, right, bottom), right and bottom exclusive."""
    return rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _box(rect: Any, width: int, height: int) -> BoundingBox:
    """dlib's inclusive pixel rectangle → ratios of the image, clipped to it (HOG boxes overhang edges)."""
    left, top = _clip(rect.left() / width), _clip(rect.top() / height)
    right, bottom = _clip((rect.right() + 1) / width), _clip((rect.bottom() + 1) / height)
    return BoundingBox(left=left, top=top, width=right - left, height=bottom - top)


def _landmarks(shape: Any, width: int, height: int) -> tuple[Landmark, ...]:
    def mean_of(parts: tuple[int, ...], name: str) -> Landmark:
        x = sum(shape.part(i).x for i in parts) / len(parts)
        y = sum(shape.part(i).y for i in parts) / len(parts)
        return Landmark(type=name, x=_clip(x / width), y=_clip(y / height))

    return (
        mean_of(_EYE_LEFT_PARTS, "eyeLeft"),
        mean_of(_EYE_RIGHT_PARTS, "eyeRight"),
        mean_of((_NOSE_PART,), "nose"),
    )


class KeyframeFaces:
    """Faces in a video's keyframes (analysis size, 640 px wide): the whole picture scanned upsampled once
    (faces from ≈ 40 px), and where that finds none, the heads of the people `people` finds in it (the
    object detector's boxes) scanned upsampled twice (faces from ≈ 20 px: a wide shot's). The person
    search runs only on keyframes without a face, so a keyframe whose faces the whole scan finds costs
    what it did. indexer.video.analysis.FaceDetector; blocking CPU work."""

    def __init__(
        self, recognizer: DlibFaceRecognizer, people: Callable[[Image.Image], Sequence[BoundingBox]]
    ) -> None:
        self.recognizer = recognizer
        self.people = people

    def detect(self, image: Image.Image) -> list[Face]:
        return self.recognizer.detect(image, find_people=lambda: self.people(image))


def keyframe_faces(model_dir: Path) -> KeyframeFaces:
    """KeyframeFaces over dlib and the local object detector (its Person boxes down to its decoder's floor,
    as the faces analyzer takes them, but a weak one of the whole frame: labels.detections.frame_guess),
    each loaded on first use."""
    from catalog.domain.labels.detections import frame_guess
    from indexer.recognizers.local.objects import CenterNetDetector
    from indexer.recognizers.local.people import people_from_objects

    detector = CenterNetDetector(model_dir)

    def people(image: Image.Image) -> list[BoundingBox]:
        found = people_from_objects(detector.detect(image), min_confidence=0.0)  # down to its decoder's floor
        # a weak Person box of nearly the whole frame locates no one (a cat's close-up at 28): its head
        # region would be the top half of the frame, the costliest scan of all (16 times its pixels)
        return [p.box for p in found if not frame_guess(p)]

    return KeyframeFaces(DlibFaceRecognizer(upsample=1, person_upsample=2), people)
