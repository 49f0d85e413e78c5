"""Local label recognizer: EfficientNet-Lite0 (ImageNet-1k) on onnxruntime, labels shaped like Rekognition's.

Each class's probability also flows up to its (curated WordNet) ancestors, so hierarchy levels are labels
too, with confidence = the summed probability of the classes beneath them: a photo split between three
cat breeds still yields a confident "Cat". Class → ancestors comes from data/imagenet_taxonomy.json
(written by scripts/build_imagenet_taxonomy.py), so no WordNet is needed at run time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import Label
from indexer.recognizers.local.efficientnet_onnx import (
    FEATURE_DIM,
    FEATURES_NAME,
    INPUT_NAME,
    LITE0,
    LOGITS_VERSION,
    NUM_CLASSES,
    OUTPUT_NAME,
    Variant,
    default_weights_path,
    ensure_onnx_model,
)
from indexer.recognizers.local.model_files import file_sha256

MODEL_NAME = "efficientnet-lite0-imagenet1k"  # the default variant's
_VERSION = "1.0"  # of the pooled features
_LABELS_VERSION = "1.1"  # 1.1: a label needs the evidence of its likeliest classes (EVIDENCE_CONFIDENCE)
# A label is a finding only when its EVIDENCE_CLASSES likeliest classes hold EVIDENCE_CONFIDENCE percent
# between them: a parent's confidence is the summed probability of every class beneath it, and "Animal 57"
# on a sand dune is the mass of four hundred animal classes at 1-2 % each (the best, a grouse, 1.7 %),
# while a dog split between three breeds (Dog 60, 20 % each) is still a Dog.
EVIDENCE_CLASSES = 3
EVIDENCE_CONFIDENCE = 25.0


@dataclass(frozen=True)
class Taxonomy:
    """Label names, each label's parents (nearest first), and which classes feed which labels."""

    class_names: tuple[str, ...]  # model output index → label name
    names: tuple[str, ...]  # sorted
    parents: tuple[tuple[str, ...], ...]
    # (class, label) pairs where a class counts towards a label: each pair once, however many paths
    member_classes: NDArray[np.intp]
    member_labels: NDArray[np.intp]
    digest: str
    class_columns: NDArray[np.intp]  # the labels that are a class's own name (not only a parent)

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        if path is None:
            raw = (
                resources.files("indexer.recognizers.local")
                .joinpath("data/imagenet_taxonomy.json")
                .read_bytes()
            )
        else:
            raw = path.read_bytes()
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: bytes) -> Taxonomy:
        data: dict[str, Any] = json.loads(raw)
        classes: list[dict[str, Any]] = data["classes"]
        parents: dict[str, list[str]] = data["parents"]
        if len(classes) != NUM_CLASSES:
            raise ValueError(f"taxonomy has {len(classes)} classes, the model {NUM_CLASSES}")
        names = tuple(sorted({c["name"] for c in classes} | {a for c in classes for a in c["ancestors"]}))
        column = {n: i for i, n in enumerate(names)}
        pairs = sorted(
            (row, col)
            for row, c in enumerate(classes)
            for col in {column[c["name"]], *(column[a] for a in c["ancestors"])}
        )
        return cls(
            class_names=tuple(c["name"] for c in classes),
            names=names,
            parents=tuple(tuple(parents.get(n, ())) for n in names),
            member_classes=np.array([p[0] for p in pairs], np.intp),
            member_labels=np.array([p[1] for p in pairs], np.intp),
            digest=hashlib.sha256(raw).hexdigest(),
            class_columns=np.array(sorted({column[c["name"]] for c in classes}), np.intp),
        )


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float32] = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


def aggregate(
    probs: NDArray[np.float32],
    taxonomy: Taxonomy,
    *,
    min_confidence: float,
    max_labels: int,
    tentative_confidence: float | None = None,
) -> list[list[Label]]:
    """Class probabilities (N, 1000) → Rekognition-style labels per image, most confident first.

    Confidence is percent (0–100, two decimals). A label is kept when its rounded confidence is at
    least min_confidence and its likeliest classes are evidence enough (EVIDENCE_CONFIDENCE, or
    min_confidence if lower); then the max_labels most confident remain (ties: the more specific first).
    An image where no label reaches min_confidence keeps, with tentative_confidence given, its best class
    at or above that floor with the parents it carries (a rocket split between "missile" and "projectile"
    is still a Missile at 42 %, said with its low confidence); parents alone never qualify: "Animal 40" on
    a galaxy field is the mass of a thousand unlikely classes, not a finding.
    """
    if not 0 <= min_confidence <= 100:
        raise ValueError("min_confidence must be within 0..100")
    if max_labels < 0:
        raise ValueError("max_labels must be >= 0")
    depth = np.array([len(p) for p in taxonomy.parents])
    evidence = min(EVIDENCE_CONFIDENCE, min_confidence)  # who asks for labels at 1 % gets them
    results: list[list[Label]] = []
    for p in np.atleast_2d(probs).astype(np.float64):
        mass = np.bincount(
            taxonomy.member_labels, weights=p[taxonomy.member_classes], minlength=len(taxonomy.names)
        )
        row = np.clip(np.round(mass * 100.0, 2), 0.0, 100.0)
        keep = np.flatnonzero((row >= min_confidence) & (_evidence(p, taxonomy) >= evidence))
        if keep.size == 0 and tentative_confidence is not None:
            keep = _tentative(row, taxonomy, tentative_confidence)
        # by confidence, then the more specific (more parents), then name (= index: names are sorted)
        ranked = keep[np.lexsort((keep, -depth[keep], -row[keep]))][:max_labels]
        results.append([Label(taxonomy.names[i], float(row[i]), taxonomy.parents[i]) for i in ranked])
    return results


def _evidence(p: NDArray[np.float64], taxonomy: Taxonomy) -> NDArray[np.float64]:
    """Per label, the summed percent of its EVIDENCE_CLASSES likeliest classes (itself included)."""
    values = p[taxonomy.member_classes]
    order = np.lexsort((-values, taxonomy.member_labels))  # by label, then likeliest first
    labels, values = taxonomy.member_labels[order], values[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    rank = np.arange(labels.size) - np.repeat(starts, np.diff(np.r_[starts, labels.size]))
    top = rank < EVIDENCE_CLASSES
    summed = np.bincount(labels[top], weights=values[top], minlength=len(taxonomy.names))
    return np.asarray(summed * 100.0, np.float64)


def _tentative(row: NDArray[np.float64], taxonomy: Taxonomy, floor: float) -> NDArray[np.intp]:
    """The best class label at or above `floor` and those of its parents at or above it (empty if none)."""
    classes = taxonomy.class_columns
    if classes.size == 0:
        return classes
    best = classes[np.argmax(row[classes])]
    if row[best] < floor:
        return np.zeros(0, np.intp)
    column = {n: i for i, n in enumerate(taxonomy.names)}
    family = [best, *(column[n] for n in taxonomy.parents[best] if n in column)]
    return np.array([i for i in family if row[i] >= floor], np.intp)


class EfficientNetLabeler:
    """LabelModel on EfficientNet-Lite0. One instance is shared by all worker threads: the onnxruntime
    session loads lazily once and its run() is thread-safe; intra_op_num_threads is per call, so a pool of
    k threads on c cores wants k * intra_op_num_threads <= c."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        intra_op_num_threads: int = 1,
        weights_path: Path | None = None,
        taxonomy: Taxonomy | None = None,
        variant: Variant = LITE0,
    ) -> None:
        self.name = f"{variant.name}-imagenet1k"
        self.variant = variant
        self.input_size = variant.input_size
        self._cache_dir = cache_dir
        self._threads = intra_op_num_threads
        self._weights = weights_path or default_weights_path(variant)
        self.taxonomy = taxonomy or Taxonomy.load()
        weights = file_sha256(self._weights)[:8]
        self.version = f"{_LABELS_VERSION}+b{LOGITS_VERSION}.w{weights}.t{self.taxonomy.digest[:8]}"
        # the pooled features depend on the weights and the trunk only (not on the taxonomy)
        self.feature_version = f"{self.name}/pool{FEATURE_DIM}@{_VERSION}.w{weights}"
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None

    def load(self) -> None:
        """Build (first run only) and open the model; predict() calls this itself."""
        self._get_session()

    def _get_session(self) -> ort.InferenceSession:
        session = self._session
        if session is not None:
            return session
        with self._lock:
            if self._session is None:
                path = ensure_onnx_model(self._cache_dir, self._weights, self.variant)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # workers spinning on idle cores would steal them from the other threads of the pool
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def prepare(self, image: Image.Image) -> NDArray[np.float32]:
        """Center square of the image → the model's size (Lite0: 224×224), scaled to [-1, 1], float32 CHW."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        # resize only the crop box; reducing_gap lets Pillow shrink by whole factors first (fast, same look)
        small = image.resize(
            (self.input_size, self.input_size),
            Image.Resampling.BILINEAR,
            box=(left, top, left + side, top + side),
            reducing_gap=2.0,
        )
        pixels = np.asarray(small, dtype=np.float32)
        chw: NDArray[np.float32] = np.ascontiguousarray((pixels * (2.0 / 255.0) - 1.0).transpose(2, 0, 1))
        return chw

    def predict_outputs(self, batch: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(N, 3, S, S) → class probabilities (N, 1000) and pooled features (N, 1280), one forward pass."""
        size = self.input_size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise ValueError(f"expected a (N, 3, {size}, {size}) batch, got {batch.shape}")
        if batch.shape[0] == 0:
            return np.zeros((0, NUM_CLASSES), np.float32), np.zeros((0, FEATURE_DIM), np.float32)
        inputs = np.ascontiguousarray(batch, dtype=np.float32)
        logits, features = self._get_session().run([OUTPUT_NAME, FEATURES_NAME], {INPUT_NAME: inputs})
        return softmax(np.asarray(logits, dtype=np.float32)), np.asarray(features, dtype=np.float32)

    def predict_probabilities(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 3, S, S) → class probabilities (N, 1000)."""
        return self.predict_outputs(batch)[0]

    def features(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 3, S, S) → pooled penultimate features (N, 1280)."""
        return self.predict_outputs(batch)[1]

    def predict_with_features(
        self,
        batch: NDArray[np.float32],
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[tuple[list[Label], NDArray[np.float32]]]:
        """predict() and each image's features, from the same forward pass."""
        probs, features = self.predict_outputs(batch)
        labels = aggregate(
            probs,
            self.taxonomy,
            min_confidence=min_confidence,
            max_labels=max_labels,
            tentative_confidence=tentative_confidence,
        )
        return list(zip(labels, features, strict=True))

    def predict(
        self,
        batch: NDArray[np.float32],
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[list[Label]]:
        probs = self.predict_probabilities(batch)
        return aggregate(
            probs,
            self.taxonomy,
            min_confidence=min_confidence,
            max_labels=max_labels,
            tentative_confidence=tentative_confidence,
        )
