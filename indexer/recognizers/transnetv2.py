"""TransNetV2 shot-boundary probabilities for a stream of 48×27 frames (ONNX trunk + numpy heads).

Frames are processed as the reference does: windows of 100 frames advancing by 50, the middle 50 of
each kept, the stream padded with 25 copies of its first frame and enough copies of its last. Frames
come in as an iterator, so a long video never sits in memory (≈4 kB per frame at 48×27).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.recognizers import transnetv2_onnx as trunk
from indexer.recognizers.model_files import file_sha256
from indexer.recognizers.torch_weights import load_state_dict
from indexer.recognizers.transnetv2_heads import HeadWeights, boundary_logits

WINDOW = 100
STEP = 50
_LEAD = 25  # frames of context before the kept middle of each window
FRAME_SHAPE = (trunk.FRAME_HEIGHT, trunk.FRAME_WIDTH, 3)


class TransNetV2:
    """Loads lazily once per process; `probabilities` is blocking CPU work (run it in the CpuPool)."""

    def __init__(self, model_dir: Path, threads: int = 1, weights: Path | None = None) -> None:
        self._model_dir = model_dir
        self._threads = threads
        self._weights = weights
        self._lock = threading.Lock()
        self._session: Any = None
        self._heads: HeadWeights | None = None

    @property
    def model_version(self) -> str:
        pth = self._weights or trunk.default_weights_path()
        return f"transnetv2-b{trunk.BUILD_VERSION}-{file_sha256(pth)[:12]}"

    def _load(self) -> tuple[Any, HeadWeights]:
        with self._lock:
            if self._session is None or self._heads is None:
                import onnxruntime as ort

                pth = self._weights or trunk.default_weights_path()
                path = trunk.ensure_onnx_model(self._model_dir, pth)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                self._heads = HeadWeights.from_state_dict(load_state_dict(pth))
                self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return self._session, self._heads

    def _window(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        session, heads = self._load()
        x = frames.transpose(3, 0, 1, 2)[None].astype(np.float32) / np.float32(255.0)
        features, pooled = session.run([trunk.FEATURES, trunk.POOLED], {trunk.INPUT_NAME: x})
        logits = boundary_logits(heads, frames, features[0], pooled[0])
        probs: NDArray[np.float32] = 1.0 / (1.0 + np.exp(-logits))
        return probs[_LEAD : _LEAD + STEP]

    def probabilities(self, frames: Iterable[NDArray[np.uint8]]) -> Iterator[NDArray[np.float32]]:
        """Boundary probability per input frame (in order, in chunks of up to 50), as windows complete."""
        buffer: list[NDArray[np.uint8]] = []
        seen = emitted = 0
        for frame in frames:
            if frame.shape != FRAME_SHAPE or frame.dtype != np.uint8:
                raise ValueError(
                    f"TransNetV2 takes {FRAME_SHAPE} uint8 frames, got {frame.shape} {frame.dtype}"
                )
            if not buffer:
                buffer = [frame] * _LEAD
            buffer.append(frame)
            seen += 1
            if len(buffer) == WINDOW:
                yield self._window(np.stack(buffer))
                emitted += STEP
                del buffer[:STEP]
        if not seen:
            return
        while emitted < seen:
            buffer += [buffer[-1]] * (WINDOW - len(buffer))
            probs = self._window(np.stack(buffer))
            yield probs[: seen - emitted]
            emitted += STEP
            del buffer[:STEP]


def boundaries(probabilities: NDArray[np.float32], threshold: float = 0.5) -> list[int]:
    """First frames of every shot after the first: where a run of above-threshold frames starts.

    The reference turns each run of frames over the threshold into a transition and starts the next
    shot after it; a cut is a run of one or two frames, so we report the run's last frame + 1 for a
    hard cut... the reference's scene list starts the next scene at the first frame *below* the
    threshold after the run. We follow it exactly.
    """
    above = probabilities > threshold
    starts: list[int] = []
    for i in range(1, len(above)):
        if above[i - 1] and not above[i]:
            starts.append(i)
    return starts
