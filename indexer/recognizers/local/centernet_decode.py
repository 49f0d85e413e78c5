"""CenterNet outputs → scored boxes: 3×3 peaks of the class heatmaps, top-k, per-class NMS.

The MobileNetV3 CenterNet (COCO-80) predicts, on a grid 4× coarser than its 512×512 input, a sigmoid
heatmap per class and, per cell, the distances (already in input pixels) from the cell's centre to the
box's left, top, right and bottom edges. A detection is a cell whose score is the maximum of its 3×3
neighbourhood; its box is [4x − l, 4y − t, 4x + r, 4y + b]. This is what the model's own TF.js tail
(`tower_0/detections`) computes, followed by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

STRIDE = 4  # input pixels per heatmap cell
TOP_K = 100
NMS_IOU = 0.4
MIN_SCORE = 0.25


@dataclass(frozen=True)
class Detection:
    class_index: int
    score: float  # 0–1
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in model-input pixels (not clipped)


def peaks(heatmap: NDArray[np.float32]) -> NDArray[np.float32]:
    """Heatmap (H, W, C) with every value that is not the maximum of its 3×3 neighbourhood set to 0."""
    padded = np.pad(heatmap, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    h, w = heatmap.shape[:2]
    pooled = heatmap.copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(pooled, padded[dy : dy + h, dx : dx + w], out=pooled)
    out: NDArray[np.float32] = np.where(heatmap == pooled, heatmap, 0.0).astype(np.float32)
    return out


def _peak_indices(heatmap: NDArray[np.float32], min_score: float) -> NDArray[np.intp]:
    """Flat indices into heatmap of its 3×3 peaks scoring at least min_score (unordered).

    Above a bar only the few cells that pass it are looked at: the whole-map filter (`peaks`) cost 15 ms of
    the detector's ~100 per image, for the ~100 cells out of 1.3 million that can become detections."""
    if min_score <= 0:
        return np.flatnonzero(peaks(heatmap))
    h, w, classes = heatmap.shape
    ys, xs, cs = np.nonzero(heatmap >= min_score)
    scores = heatmap[ys, xs, cs]
    is_peak = np.ones(len(ys), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            # an index clipped at the border names a cell of the neighbourhood (or the cell itself)
            neighbour = heatmap[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1), cs]
            is_peak &= scores >= neighbour
    flat: NDArray[np.intp] = ((ys * w + xs) * classes + cs)[is_peak]
    return flat


def candidates(
    heatmap: NDArray[np.float32], sizes: NDArray[np.float32], top_k: int = TOP_K, min_score: float = 0.0
) -> list[Detection]:
    """The top_k peak (y, x, class) cells scoring at least min_score, best first, each with its box (with
    min_score 0: the model's `detections`)."""
    if heatmap.ndim != 3 or sizes.shape != (*heatmap.shape[:2], 4):
        raise ValueError(f"expected (H, W, C) and (H, W, 4) arrays, got {heatmap.shape} and {sizes.shape}")
    flat = heatmap.ravel()
    found = _peak_indices(heatmap, min_score)
    # score descending, ties by index (stable across runs and equal at the top_k cut)
    top = found[np.lexsort((found, -flat[found]))][:top_k]
    classes = heatmap.shape[2]
    out = []
    for index in top:
        cell, cls = divmod(int(index), classes)
        y, x = divmod(cell, heatmap.shape[1])
        left, top_, right, bottom = (float(v) for v in sizes[y, x])
        cx, cy = float(x * STRIDE), float(y * STRIDE)
        out.append(Detection(cls, float(flat[index]), (cx - left, cy - top_, cx + right, cy + bottom)))
    return out


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode(
    heatmap: NDArray[np.float32],
    sizes: NDArray[np.float32],
    *,
    min_score: float = MIN_SCORE,
    nms_iou: float = NMS_IOU,
    top_k: int = TOP_K,
) -> list[Detection]:
    """Detections scoring at least min_score, best first, after NMS within each class.

    Suppression is per class, so a rider's Person box survives its Horse box.
    """
    kept: list[Detection] = []
    for det in candidates(heatmap, sizes, top_k, min_score):
        if det.box[2] <= det.box[0] or det.box[3] <= det.box[1]:
            continue
        if all(k.class_index != det.class_index or iou(k.box, det.box) <= nms_iou for k in kept):
            kept.append(det)
    return kept
