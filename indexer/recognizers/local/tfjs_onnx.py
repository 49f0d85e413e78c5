"""A TF.js graph model (model.json + weights .bin) converted to ONNX with numpy and onnx alone.

Covers the ops of convolutional detectors exported by tensorflowjs_converter: fused convolutions
(BiasAdd, Relu, Relu6), depthwise convolutions, elementwise Add/Sub/Mul with scalar constants, Relu,
Relu6, Sigmoid, spatial Mean, channel ConcatV2, ResizeBilinear and Identity. Anything else raises
TfjsFormatError naming the op. Only the nodes the requested outputs depend on are converted, so a
model's post-processing tail (TopK, gathers) can be left to the caller.

TF.js graphs are NHWC; ONNX convolutions are NCHW. The converted graph transposes the input once,
runs NCHW inside (axes of Mean and Concat are remapped) and transposes each output back, so its inputs
and outputs keep the TF.js shapes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper


class TfjsFormatError(ValueError):
    """The model.json / weights are not a TF.js graph model this converter understands."""


_DTYPES: dict[str, Any] = {"float32": np.float32, "int32": np.int32, "float16": np.float16}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2, -4: 0}


def read_weights(manifest: Sequence[dict[str, Any]], data: bytes) -> dict[str, NDArray[Any]]:
    """Weight arrays by name from the concatenated .bin shards, dequantised to their original dtype."""
    out: dict[str, NDArray[Any]] = {}
    offset = 0
    for group in manifest:
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            stored = quant["dtype"] if quant else spec["dtype"]
            if stored not in _DTYPES:
                raise TfjsFormatError(f"weight {spec['name']}: unsupported dtype {stored}")
            dtype = np.dtype(_DTYPES[stored])
            end = offset + count * dtype.itemsize
            if end > len(data):
                raise TfjsFormatError(f"weights file too short for {spec['name']}")
            values = np.frombuffer(data[offset:end], dtype=dtype).reshape(shape)
            offset = end
            if quant:
                values = values.astype(_DTYPES[quant.get("original_dtype", "float32")])
            out[spec["name"]] = values
    if offset != len(data):
        raise TfjsFormatError(f"weights file has {len(data) - offset} bytes the manifest does not describe")
    return out


def _attr_str(node: dict[str, Any], key: str, default: str = "") -> str:
    raw = node.get("attr", {}).get(key, {}).get("s")
    return base64.b64decode(raw).decode() if raw else default


def _attr_ints(node: dict[str, Any], key: str) -> list[int]:
    return [int(i) for i in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def _fused_ops(node: dict[str, Any]) -> list[str]:
    raw = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
    return [base64.b64decode(s).decode() for s in raw]


@dataclass
class _Builder:
    weights: dict[str, NDArray[Any]]
    nodes: list[onnx.NodeProto]
    inits: dict[str, onnx.TensorProto]
    sizes: dict[str, tuple[int, int]]  # spatial size (H, W) of each NCHW tensor

    def const(self, name: str, value: NDArray[Any]) -> str:
        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(value, name)
        return name

    def weight(self, name: str) -> NDArray[Any]:
        if name not in self.weights:
            raise TfjsFormatError(f"constant {name} is not in the weights")
        return self.weights[name]

    def conv(self, node: dict[str, Any], depthwise: bool) -> None:
        name, inputs = node["name"], node["input"]
        x, w = inputs[0], self.weight(inputs[1])
        if _attr_str(node, "data_format", "NHWC") != "NHWC" or set(_attr_ints(node, "dilations")) - {1}:
            raise TfjsFormatError(f"{name}: only NHWC convolutions without dilation are supported")
        strides = _attr_ints(node, "strides")[1:3] or [1, 1]
        padding = _attr_str(node, "padding")
        kh, kw = int(w.shape[0]), int(w.shape[1])
        if depthwise:  # [H, W, C, M] → [C*M, 1, H, W], output channel c*M + m as in TF
            channels = int(w.shape[2])
            kernel = w.reshape(kh, kw, -1).transpose(2, 0, 1)[:, None, :, :]
        else:  # HWIO → OIHW
            channels = 1
            kernel = w.transpose(3, 2, 0, 1)
        args = [x, self.const(f"{name}/kernel", np.ascontiguousarray(kernel, np.float32))]
        fused = _fused_ops(node)
        if fused[:1] == ["BiasAdd"]:
            args.append(self.const(f"{name}/bias", self.weight(inputs[2]).astype(np.float32)))
            fused = fused[1:]
        elif fused:
            raise TfjsFormatError(f"{name}: fused ops {fused} are not supported")
        if padding not in ("SAME", "VALID"):
            raise TfjsFormatError(f"{name}: padding {padding!r} is not supported")
        h, wd = self.sizes[x]
        if padding == "SAME":  # TF puts the odd padding pixel after: ONNX SAME_UPPER
            out = (-(-h // strides[0]), -(-wd // strides[1]))
        else:
            out = ((h - kh) // strides[0] + 1, (wd - kw) // strides[1] + 1)
        y = name if not fused else f"{name}/linear"
        self.nodes.append(
            helper.make_node(
                "Conv",
                args,
                [y],
                name=y,
                kernel_shape=[kh, kw],
                strides=strides,
                group=channels,
                auto_pad="SAME_UPPER" if padding == "SAME" else "VALID",
            )
        )
        self.sizes[y] = out
        if fused:
            if len(fused) != 1 or fused[0] not in ("Relu", "Relu6"):
                raise TfjsFormatError(f"{name}: fused ops {fused} are not supported")
            self.activation(fused[0], y, name)

    def activation(self, op: str, x: str, y: str) -> None:
        if op == "Relu6":
            lo, hi = (
                self.const("relu6/min", np.array(0.0, np.float32)),
                self.const("relu6/max", np.array(6.0, np.float32)),
            )
            self.nodes.append(helper.make_node("Clip", [x, lo, hi], [y], name=y))
        else:
            self.nodes.append(helper.make_node(op, [x], [y], name=y))
        self.sizes[y] = self.sizes[x]

    def operand(self, name: str) -> str:
        """A tensor input, or a scalar constant turned into an initializer."""
        if name in self.sizes:
            return name
        value = self.weight(name)
        if value.size != 1:
            raise TfjsFormatError(
                f"constant operand {name} of shape {value.shape}: only scalars are supported"
            )
        return self.const(name, np.asarray(value.reshape(()), np.float32))

    def convert(self, node: dict[str, Any]) -> None:
        op, name, inputs = (
            node["op"],
            node["name"],
            [i for i in node.get("input", []) if not i.startswith("^")],
        )
        if op in ("_FusedConv2D", "Conv2D"):
            self.conv(node, depthwise=False)
        elif op in ("FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
            self.conv(node, depthwise=True)
        elif op in ("Add", "AddV2", "Sub", "Mul"):
            a, b = self.operand(inputs[0]), self.operand(inputs[1])
            onnx_op = {"AddV2": "Add"}.get(op, op)
            self.nodes.append(helper.make_node(onnx_op, [a, b], [name], name=name))
            # broadcasting: a squeeze-excite scale (1×1) times a feature map keeps the map's size
            shapes = [self.sizes[t] for t in (a, b) if t in self.sizes]
            self.sizes[name] = (max(s[0] for s in shapes), max(s[1] for s in shapes))
        elif op in ("Relu", "Relu6", "Sigmoid", "Identity"):
            self.activation(op, inputs[0], name)
        elif op == "Mean":
            axes = sorted(_NHWC_TO_NCHW_AXIS[int(a)] for a in self.weight(inputs[1]).ravel())
            keep = node.get("attr", {}).get("keep_dims", {}).get("b", False)
            if axes != [2, 3] or not keep:
                raise TfjsFormatError(f"{name}: only a spatial Mean keeping dims is supported")
            self.nodes.append(helper.make_node("GlobalAveragePool", [inputs[0]], [name], name=name))
            self.sizes[name] = (1, 1)
        elif op == "ConcatV2":
            axis = _NHWC_TO_NCHW_AXIS[int(self.weight(inputs[-1]).ravel()[0])]
            if axis != 1:
                raise TfjsFormatError(f"{name}: only channel concatenation is supported")
            self.nodes.append(helper.make_node("Concat", inputs[:-1], [name], name=name, axis=1))
            self.sizes[name] = self.sizes[inputs[0]]
        elif op == "ResizeBilinear":
            attr = node.get("attr", {})
            if attr.get("align_corners", {}).get("b") or attr.get("half_pixel_centers", {}).get("b"):
                raise TfjsFormatError(f"{name}: only align_corners=half_pixel_centers=False is supported")
            out_h, out_w = (int(v) for v in self.weight(inputs[1]).ravel())
            h, w = self.sizes[inputs[0]]
            scales = self.const(f"{name}/scales", np.array([1, 1, out_h / h, out_w / w], np.float32))
            self.nodes.append(
                helper.make_node(
                    "Resize",
                    [inputs[0], "", scales],
                    [name],
                    name=name,
                    mode="linear",
                    coordinate_transformation_mode="asymmetric",
                )
            )
            self.sizes[name] = (out_h, out_w)
        else:
            raise TfjsFormatError(f"{name}: op {op} is not supported")


def convert(
    model_json: bytes, weights: bytes, outputs: Sequence[str], *, graph_name: str = "tfjs"
) -> onnx.ModelProto:
    """ONNX model computing `outputs` (TF.js node names) of a TF.js graph model with one NHWC float input."""
    try:
        spec = json.loads(model_json)
        topology = spec["modelTopology"]["node"]
        manifest = spec["weightsManifest"]
    except (ValueError, KeyError, TypeError) as e:
        raise TfjsFormatError(f"not a TF.js graph model.json: {e}") from e
    by_name = {n["name"]: n for n in topology}
    placeholders = [n for n in topology if n["op"] == "Placeholder"]
    if len(placeholders) != 1:
        raise TfjsFormatError(f"expected one input, found {len(placeholders)}")
    source = placeholders[0]
    dims = [int(d.get("size", -1)) for d in source["attr"]["shape"]["shape"]["dim"]]
    if len(dims) != 4 or min(dims[1:]) <= 0:
        raise TfjsFormatError(f"input {source['name']}: expected a fixed NHWC shape, got {dims}")

    # the nodes the outputs need, in dependency order (iterative DFS: deep graphs exceed recursion limits)
    order: list[dict[str, Any]] = []
    seen: set[str] = set()
    for out in outputs:
        if out not in by_name:
            raise TfjsFormatError(f"output {out} is not in the graph")
        stack: list[tuple[str, bool]] = [(out, False)]
        while stack:
            name, expanded = stack.pop()
            node = by_name.get(name.split(":")[0])
            if node is None:
                raise TfjsFormatError(f"{name} is not in the graph")
            if expanded:
                order.append(node)
                continue
            if node["name"] in seen or node["op"] in ("Const", "Placeholder"):
                continue
            seen.add(node["name"])
            stack.append((node["name"], True))
            stack.extend((i.lstrip("^"), False) for i in reversed(node.get("input", [])))

    b = _Builder(read_weights(manifest, weights), [], {}, {})
    nchw = f"{source['name']}/nchw"
    b.nodes.append(helper.make_node("Transpose", [source["name"]], [nchw], perm=[0, 3, 1, 2]))
    b.sizes[nchw] = (dims[1], dims[2])
    rename = {source["name"]: nchw}
    for node in order:
        node = {**node, "input": [rename.get(i, i) for i in node.get("input", [])]}
        b.convert(node)
    out_infos = []
    for out in outputs:
        b.nodes.append(helper.make_node("Transpose", [out], [f"{out}/nhwc"], perm=[0, 2, 3, 1]))
        h, w = b.sizes[out]
        out_infos.append(
            helper.make_tensor_value_info(f"{out}/nhwc", TensorProto.FLOAT, [dims[0], h, w, None])
        )
    graph = helper.make_graph(
        b.nodes,
        graph_name,
        [helper.make_tensor_value_info(source["name"], TensorProto.FLOAT, dims)],
        out_infos,
        initializer=list(b.inits.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="mediasight")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
