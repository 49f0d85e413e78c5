"""TransNetV2 shot-boundary probabilities for a stream of 48×27 frames (ONNX trunk + numpy heads).

Frames are processed as the reference does: windows of frames whose middle is kept and whose first
and last 25 frames are context only, the stream padded with 25 copies of its first frame and enough
copies of its last. The reference uses windows of 100 frames (keeping 50), so every frame goes through
the 3D-conv trunk twice; `window=200` keeps 150 of each and costs a third less, with at least the
reference's context around every kept frame (the boundaries it finds on the package's test clip are
compared in the tests). Frames come in as an iterator, so a long video never sits in memory (≈4 kB
per frame at 48×27).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.recognizers.local import transnetv2_onnx as trunk
from indexer.recognizers.local.model_files import file_sha256
from indexer.recognizers.local.torch_weights import load_state_dict
from indexer.recognizers.local.transnetv2_heads import HeadWeights, boundary_logits

REFERENCE_WINDOW = 100
CONTEXT = 25  # frames of context either side of the kept middle of each window
FRAME_SHAPE = (trunk.FRAME_HEIGHT, trunk.FRAME_WIDTH, 3)


class TransNetV2:
    """Loads lazily once per process; `probabilities` is blocking CPU work (run it in the CpuPool)."""

    def __init__(
        self, model_dir: Path, threads: int = 1, weights: Path | None = None, window: int = REFERENCE_WINDOW
    ) -> None:
        if window < 2 * CONTEXT + 1:
            raise ValueError(f"a window holds at least {2 * CONTEXT + 1} frames")
        self.window = window
        self._step = window - 2 * CONTEXT
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

    def load(self) -> None:
        """Build (first run only) and open the model; probabilities() calls this itself."""
        self._load()

    def _load(self) -> tuple[Any, HeadWeights]:
        with self._lock:
            if self._session is None or self._heads is None:
                import onnxruntime as ort

                pth = self._weights or trunk.default_weights_path()
                path = trunk.ensure_onnx_model(self._model_dir, pth)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                # idle threads must not spin: they would take CPU from the decoder and other workers
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._heads = HeadWeights.from_state_dict(load_state_dict(pth))
                self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return self._session, self._heads

    def _window(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        session, heads = self._load()
        x = frames.transpose(3, 0, 1, 2)[None].astype(np.float32) / np.float32(255.0)
        features, pooled = session.run([trunk.FEATURES, trunk.POOLED], {trunk.INPUT_NAME: x})
        logits = boundary_logits(heads, frames, features[0], pooled[0])
        probs = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return probs[CONTEXT : CONTEXT + self._step]

    def probabilities(self, frames: Iterable[NDArray[np.uint8]]) -> Iterator[NDArray[np.float32]]:
        """Boundary probability per input frame (in order, in chunks), as windows complete."""
        buffer: list[NDArray[np.uint8]] = []
        seen = emitted = 0
        for frame in frames:
            if frame.shape != FRAME_SHAPE or frame.dtype != np.uint8:
                raise ValueError(
                    f"TransNetV2 takes {FRAME_SHAPE} uint8 frames, got {frame.shape} {frame.dtype}"
                )
            if not buffer:
                buffer = [frame] * CONTEXT
            buffer.append(frame)
            seen += 1
            if len(buffer) == self.window:
                yield self._window(np.stack(buffer))
                emitted += self._step
                del buffer[: self._step]
        if not seen:
            return
        while emitted < seen:
            buffer += [buffer[-1]] * (self.window - len(buffer))
            probs = self._window(np.stack(buffer))
            yield probs[: seen - emitted]
            emitted += self._step
            del buffer[: self._step]
