"""8-bit TransNetV2 trunk: every Conv of the float graph wrapped in QuantizeLinear/DequantizeLinear pairs,
which onnxruntime fuses into QLinearConv (uint8 activations, int8 weights, int32 accumulation).

Weights are quantized per output channel, symmetrically, to 7 bits (±63): x86 CPUs without VNNI multiply
uint8 by int8 with VPMADDUBSW, whose 16-bit pair sums saturate with full 8-bit weights. Activations use
the ranges in data/transnetv2_ranges.json, measured once on the frames of the clip shipped with the
weights (scripts/build_transnetv2_ranges.py); each conv's input and output have their own range.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import helper, numpy_helper

RANGES = Path(__file__).resolve().parent / "data" / "transnetv2_ranges.json"
WEIGHT_LEVELS = 63  # 7-bit symmetric weights (see the module docstring)


class RangesError(ValueError):
    """The ranges file does not cover the graph being quantized (rebuild it with the script)."""


def load_ranges(path: Path = RANGES, weights_sha256: str | None = None) -> dict[str, tuple[float, float]]:
    """The measured ranges; with `weights_sha256`, refused unless they were measured with those weights."""
    data = json.loads(path.read_text())
    if weights_sha256 is not None and data.get("weights_sha256") != weights_sha256:
        raise RangesError(
            f"{path.name} was measured with other TransNetV2 weights: run scripts/build_transnetv2_ranges.py"
        )
    return {name: (float(lo), float(hi)) for name, (lo, hi) in data["tensors"].items()}


def conv_tensors(graph: onnx.GraphProto) -> list[str]:
    """The tensors whose ranges the quantized graph needs: each Conv's input and output."""
    names: list[str] = []
    for node in graph.node:
        if node.op_type == "Conv":
            names += [n for n in (node.input[0], node.output[0]) if n not in names]
    return names


def _activation_params(lo: float, hi: float) -> tuple[np.float32, np.uint8]:
    lo, hi = min(0.0, lo), max(0.0, hi)
    scale = (hi - lo) / 255.0 or 1.0
    return np.float32(scale), np.uint8(np.clip(round(-lo / scale), 0, 255))


class _Rewriter:
    def __init__(self, graph: onnx.GraphProto, ranges: Mapping[str, tuple[float, float]]) -> None:
        self.ranges = ranges
        self.floats = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.inits: list[onnx.TensorProto] = []
        self.nodes: list[onnx.NodeProto] = []
        self.dequantized: dict[str, str] = {}  # activation → its quantize-dequantize output
        self.scales: dict[str, np.float32] = {}

    def init(self, name: str, value: NDArray[np.generic] | np.generic) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def activation(self, name: str, produced_as: str | None = None) -> str:
        """Q/DQ pair for an activation (once per tensor); `produced_as` is the float tensor holding it."""
        if name in self.dequantized:
            return self.dequantized[name]
        if name not in self.ranges:
            raise RangesError(f"no range for {name}: rebuild {RANGES.name}")
        scale, zero = _activation_params(*self.ranges[name])
        s, z = self.init(f"{name}.scale", scale), self.init(f"{name}.zero", zero)
        q = f"{name}.q"
        out = name if produced_as else f"{name}.dq"
        self.nodes += [
            helper.make_node("QuantizeLinear", [produced_as or name, s, z], [q]),
            helper.make_node("DequantizeLinear", [q, s, z], [out]),
        ]
        self.dequantized[name], self.scales[name] = out, scale
        return out

    def weights(self, name: str) -> tuple[str, NDArray[np.float32]]:
        w = self.floats.pop(name)
        peak = np.abs(w).reshape(len(w), -1).max(axis=1)
        scale = np.where(peak > 0, peak / WEIGHT_LEVELS, 1.0).astype(np.float32)
        shaped = scale.reshape(-1, *([1] * (w.ndim - 1)))
        q = np.clip(np.round(w / shaped), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8)
        return self.per_channel(name, q, scale), scale

    def bias(self, name: str, scale: NDArray[np.float32]) -> str:
        b = self.floats.pop(name)
        return self.per_channel(name, np.round(b / scale).astype(np.int32), scale)

    def per_channel(self, name: str, q: NDArray[np.integer], scale: NDArray[np.float32]) -> str:
        """A constant stored as integers with one scale per output channel, dequantized in the graph."""
        zero = self.init(f"{name}.zero", np.zeros(len(q), q.dtype))
        inputs = [self.init(f"{name}.q", q), self.init(f"{name}.scale", scale), zero]
        self.nodes.append(helper.make_node("DequantizeLinear", inputs, [f"{name}.dq"], axis=0))
        return f"{name}.dq"

    def conv(self, node: onnx.NodeProto) -> None:
        x = self.activation(node.input[0])
        w, w_scale = self.weights(node.input[1])
        inputs = [x, w]
        if len(node.input) > 2:
            inputs.append(self.bias(node.input[2], (self.scales[node.input[0]] * w_scale).astype(np.float32)))
        y = node.output[0]
        conv = helper.make_node("Conv", inputs, [f"{y}.float"])
        conv.attribute.extend(node.attribute)
        self.nodes.append(conv)
        self.activation(y, produced_as=f"{y}.float")


def quantize(graph: onnx.GraphProto, ranges: Mapping[str, tuple[float, float]]) -> onnx.GraphProto:
    """The graph with its Convs quantized (other nodes stay float32)."""
    r = _Rewriter(graph, ranges)
    for node in graph.node:
        if node.op_type == "Conv":
            r.conv(node)
        else:
            r.nodes.append(node)
    inits = [numpy_helper.from_array(v, k) for k, v in r.floats.items()] + r.inits
    return helper.make_graph(r.nodes, graph.name, graph.input, graph.output, initializer=inits)
