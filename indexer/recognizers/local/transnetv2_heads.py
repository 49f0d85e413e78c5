"""TransNetV2's heads in numpy: frame similarity, colour-histogram similarity, two dense layers.

They follow the ONNX trunk (indexer.recognizers.local.transnetv2_onnx) and mirror the reference PyTorch port:
each frame is compared with the 50 frames either side (cosine similarity of learned features and of
512-bin RGB histograms), those 101 similarities are projected to 128 values each, concatenated with the
trunk's features and classified as "a shot boundary is at this frame".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.recognizers.local.torch_weights import WeightsFormatError

LOOKUP = 101  # frames compared: the frame itself and 50 either side


@dataclass(frozen=True)
class HeadWeights:
    sim_projection: NDArray[np.float32]  # [128, 448]
    sim_projection_bias: NDArray[np.float32]
    sim_fc: NDArray[np.float32]  # [128, 101]
    sim_fc_bias: NDArray[np.float32]
    hist_fc: NDArray[np.float32]  # [128, 101]
    hist_fc_bias: NDArray[np.float32]
    fc1: NDArray[np.float32]  # [1024, 4864]
    fc1_bias: NDArray[np.float32]
    cls: NDArray[np.float32]  # [1, 1024]
    cls_bias: NDArray[np.float32]

    @classmethod
    def from_state_dict(cls, w: dict[str, NDArray[Any]]) -> HeadWeights:
        shapes = {
            "frame_sim_layer.projection.weight": (128, 448),
            "frame_sim_layer.projection.bias": (128,),
            "frame_sim_layer.fc.weight": (128, LOOKUP),
            "frame_sim_layer.fc.bias": (128,),
            "color_hist_layer.fc.weight": (128, LOOKUP),
            "color_hist_layer.fc.bias": (128,),
            "fc1.weight": (1024, 4864),
            "fc1.bias": (1024,),
            "cls_layer1.weight": (1, 1024),
            "cls_layer1.bias": (1,),
        }
        arrays = []
        for key, shape in shapes.items():
            value = w.get(key)
            if value is None or value.shape != shape:
                raise WeightsFormatError(f"{key}: expected shape {shape}")
            arrays.append(np.ascontiguousarray(value, dtype=np.float32))
        return cls(*arrays)


def _band(similarities: NDArray[np.float32]) -> NDArray[np.float32]:
    """[T, T] similarities → [T, 101]: row t holds frames t-50 .. t+50 (zeros beyond the window)."""
    t = similarities.shape[0]
    half = (LOOKUP - 1) // 2
    padded = np.zeros((t, t + LOOKUP - 1), np.float32)
    padded[:, half : half + t] = similarities
    rows = np.arange(t)[:, None]
    band: NDArray[np.float32] = padded[rows, rows + np.arange(LOOKUP)[None, :]]
    return band


def _l2_normalize(x: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    out: NDArray[np.float32] = (x / np.maximum(norm, 1e-12)).astype(np.float32, copy=False)
    return out


def color_histograms(frames: NDArray[np.uint8]) -> NDArray[np.float32]:
    """[T, H, W, 3] uint8 → [T, 512] L2-normalised histograms of 3-bit-per-channel RGB."""
    q = frames.astype(np.int32) >> 5
    bins = (q[..., 0] << 6) + (q[..., 1] << 3) + q[..., 2]
    t = frames.shape[0]
    flat = bins.reshape(t, -1) + (np.arange(t)[:, None] << 9)
    hist = np.bincount(flat.ravel(), minlength=t * 512).reshape(t, 512).astype(np.float32)
    return _l2_normalize(hist)


def boundary_logits(
    h: HeadWeights, frames: NDArray[np.uint8], features: NDArray[np.float32], pooled: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Per-frame shot-boundary logits for one window.

    frames [T, 27, 48, 3] uint8; features [256, T, 3, 6] and pooled [448, T] from the trunk.
    """
    t = frames.shape[0]
    projected = _l2_normalize(pooled.T @ h.sim_projection.T + h.sim_projection_bias)
    sim = np.maximum(_band(projected @ projected.T) @ h.sim_fc.T + h.sim_fc_bias, 0)
    hists = color_histograms(frames)
    hist = np.maximum(_band(hists @ hists.T) @ h.hist_fc.T + h.hist_fc_bias, 0)
    trunk = features.transpose(1, 2, 3, 0).reshape(t, -1)  # (time, h, w, channels), as the reference flattens
    x = np.concatenate([hist, sim, trunk], axis=1)
    x = np.maximum(x @ h.fc1.T + h.fc1_bias, 0)
    logits: NDArray[np.float32] = (x @ h.cls.T + h.cls_bias)[:, 0]
    return logits
