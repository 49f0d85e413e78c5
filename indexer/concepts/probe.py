"""The linear probe behind a custom concept: blocking numpy / scikit-learn work (run it in the CPU pool).

A concept is a regularised logistic regression over the classifier's L2-normalised pooled features, with
balanced class weights (a handful of positives against many negatives). Its quality is measured by
stratified k-fold cross-validation: out-of-fold margins are calibrated (Platt scaling: a 1-D logistic fit
of the margins) so the confidence a concept label carries is a probability, and precision, recall and F1
are reported at the threshold with the best F1, as Rekognition Custom Labels does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from catalog.domain.concepts.model import (
    MIN_POSITIVES,
    ConceptError,
    ProbeMetrics,
    ProbeWeights,
    too_few_positives,
)

Matrix = NDArray[np.float32]
MAX_FOLDS = 5
_C = 1.0  # inverse L2 strength; features are unit vectors, so one value suits every concept


def as_matrix(blobs: Sequence[bytes]) -> Matrix:
    """Stored float16 vectors -> (N, D) float32 rows of unit length."""
    if not blobs:
        return np.zeros((0, 0), np.float32)
    x = np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), -1).astype(np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: Matrix = x / np.maximum(norms, 1e-12)
    return out


def reliable_negatives(positives: Matrix, unlabelled: Matrix) -> NDArray[np.bool_]:
    """Which unlabelled vectors may serve as negatives: those less like the positives' centroid than
    every positive is. The archive's other assets are unlabelled, not negative: some show the concept
    (it is why it is taught), and counting them as negatives would teach the probe against itself."""
    centroid = positives.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    floor = float((positives @ centroid).min())
    keep: NDArray[np.bool_] = (unlabelled @ centroid) < floor
    return keep


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


def probabilities(weights: ProbeWeights, x: Matrix) -> NDArray[np.float64]:
    """Calibrated probability of each row (0-1)."""
    coef = np.frombuffer(weights.coef, dtype="<f4").astype(np.float32)
    # float32 product (a float64 copy of 100,000 vectors would be 1 GB), float64 from the margins on
    margins = (np.asarray(x, dtype=np.float32) @ coef).astype(np.float64) + weights.intercept
    return _sigmoid(weights.scale * margins + weights.offset)


def score_blobs(weights: ProbeWeights, blobs: Sequence[bytes]) -> NDArray[np.float64]:
    """Calibrated probabilities of stored float16 vectors (decoded here: run it in the CPU pool)."""
    return probabilities(weights, as_matrix(blobs)) if blobs else np.zeros(0, np.float64)


def _best_f1(y: NDArray[np.int_], p: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """(precision, recall, f1, threshold) at the threshold with the best F1 over the out-of-fold scores."""
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    # a threshold between distinct scores only: ties go in together
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / max(int(ys.sum()), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.argmax(f1))
    cut = last[best]
    # halfway to the next lower score: the widest margin that keeps the same decisions
    below = float(ps[cut + 1]) if cut + 1 < len(ps) else 0.0
    return float(precision[best]), float(recall[best]), float(f1[best]), (float(ps[cut]) + below) / 2


def train(positives: Matrix, negatives: Matrix) -> tuple[ProbeWeights, ProbeMetrics]:
    """Fit the probe on every example, after measuring it by cross-validation."""
    from sklearn.linear_model import LogisticRegression  # ~0.5 s to import: only where training runs
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if len(positives) < MIN_POSITIVES:
        raise too_few_positives(len(positives))
    if len(negatives) < 2 or negatives.shape[1] != positives.shape[1]:
        raise ConceptError(
            "TOO_FEW_EXAMPLES",
            "a concept needs at least 2 negative examples: name some, or ingest other pictures first",
        )
    started = time.perf_counter()
    x = np.vstack([positives, negatives]).astype(np.float64)
    y = np.r_[np.ones(len(positives), np.int_), np.zeros(len(negatives), np.int_)]

    def probe() -> LogisticRegression:
        return LogisticRegression(C=_C, class_weight="balanced", max_iter=2000)

    folds = min(MAX_FOLDS, len(positives), len(negatives))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    margins = cross_val_predict(probe(), x, y, cv=splitter, method="decision_function")
    # Platt scaling on the out-of-fold margins: confidence as a probability, not a balanced margin
    platt = LogisticRegression(C=1e4, max_iter=2000).fit(margins.reshape(-1, 1), y)
    scale, offset = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    precision, recall, f1, threshold = _best_f1(y, _sigmoid(scale * margins + offset))
    threshold = round(threshold, 4)

    final = probe().fit(x, y)
    weights = ProbeWeights(
        coef=final.coef_[0].astype("<f4").tobytes(),
        intercept=float(final.intercept_[0]),
        scale=scale,
        offset=offset,
    )
    metrics = ProbeMetrics(
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        threshold=threshold,
        positives=len(positives),
        negatives=len(negatives),
        folds=folds,
        train_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return weights, metrics
