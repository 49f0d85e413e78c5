"""Amazon Rekognition behind the Analyzer port: labels, properties, people, faces, text, moderation.

One `RekognitionAnalyzer` per analyzer name, all sharing one already-entered aiobotocore client (created
once in the composition root; never here) and one dict of per-operation token buckets (labels, properties
and people all spend the DetectLabels quota).

Which image is sent:
- S3Object (Rekognition reads the original where it lies) when `s3_bucket` is set and `original_info`
  tells us the original fits Rekognition: JPEG or PNG, ≤ 15 MB, both sides 80–10,000 px, EXIF
  orientation 1 (Rekognition's handling of rotated originals differs by operation, so a rotated one could
  give boxes in the wrong frame). Unknown (no lookup, or it returns None) → bytes.
- Bytes otherwise: the preview JPEG as is when it is ≤ 5 MB, sides within 80–10,000 px and unrotated;
  else re-encoded from item.image (off the event loop): scaled so the long side is ≤ 10,000 px and, for
  tiny images, *upscaled* so the short side is ≥ 80 px; if the aspect ratio is beyond 125:1 the short side
  is padded with gray to 80 px and the boxes are mapped back to the image (`unpad`); JPEG quality then
  size is stepped down until ≤ 5 MB. Padding / upscaling skews properties (brightness, colors) a little.

model_version: DetectLabels / DetectText / DetectModerationLabels report their model version only in the
response. The pipeline reads `analyzer.model_version` right after `await analyzer.analyze(...)` in the same
task, so the version is kept in a per-instance ContextVar (exact for that call even with many assets in
flight) and, outside that task, the last version seen by any call ("unknown" before the first call).
`analyze_with_version` returns it explicitly. DetectFaces reports none: "unreported".

Every call goes through `call_rekognition`: the operation's token bucket, then jittered retries on
throttling; the face collections (rekognition_faces) use it too.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import random as _random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image

from catalog.model import Findings
from indexer.cpu import CpuPool
from indexer.recognizers import rekognition_mapping as m
from indexer.recognizers.ports import AnalysisInput, Analyzer, AnalyzerInputError
from indexer.recognizers.rate_limit import (
    IMAGE_ERRORS,
    Sleep,
    TokenBucket,
    call_with_retries,
    error_code,
    is_retryable,
)

PROVIDER = "rekognition"
BYTES_MAX = 5 * 1024 * 1024  # Image.Bytes limit (the service model's max length)
S3_MAX_BYTES = 15_000_000  # S3Object limit "15 MB" (decimal: the conservative reading)
MIN_SIDE, MAX_SIDE = 80, 10_000
S3_MEDIA_TYPES = frozenset({"image/jpeg", "image/png"})
JPEG_QUALITIES = (90, 80, 70, 60, 50)
PAD_GRAY = (128, 128, 128)
DEFAULT_TPS = {
    "DetectLabels": 5.0,
    "DetectFaces": 5.0,
    "DetectText": 5.0,
    "DetectModerationLabels": 5.0,
    # face collections (rekognition_faces)
    "CreateCollection": 5.0,
    "IndexFaces": 5.0,
    "SearchFaces": 5.0,
    "SearchFacesByImage": 5.0,
    "DeleteFaces": 5.0,
}

Scalar = float | int | str | bool


@dataclass(frozen=True)
class Operation:
    method: str  # aiobotocore client method
    api: str  # API operation name (token bucket key)
    model_name: str
    version_key: str | None  # response field holding the model version
    defaults: Mapping[str, Scalar]


# labels parameter (comma-separated names; "" = no filter) → DetectLabels Settings.GeneralLabels field
_FILTERS = {
    "include_labels": "LabelInclusionFilters",
    "exclude_labels": "LabelExclusionFilters",
    "include_categories": "LabelCategoryInclusionFilters",
    "exclude_categories": "LabelCategoryExclusionFilters",
}
_LABELS = ("detect_labels", "DetectLabels", "amazon-rekognition-detect-labels", "LabelModelVersion")
OPERATIONS: Mapping[str, Operation] = {
    "labels": Operation(*_LABELS, {"min_confidence": 50.0, "max_labels": 20, **dict.fromkeys(_FILTERS, "")}),
    "properties": Operation(*_LABELS, {"max_dominant_colors": 5}),
    "people": Operation(*_LABELS, {"min_confidence": 50.0}),
    "faces": Operation(
        "detect_faces", "DetectFaces", "amazon-rekognition-detect-faces", None, {"min_confidence": 0.0}
    ),
    "text": Operation(
        "detect_text",
        "DetectText",
        "amazon-rekognition-detect-text",
        "TextModelVersion",
        {"min_confidence": 50.0},
    ),
    "moderation": Operation(
        "detect_moderation_labels",
        "DetectModerationLabels",
        "amazon-rekognition-detect-moderation-labels",
        "ModerationModelVersion",
        {"min_confidence": 50.0},
    ),
}


@dataclass(frozen=True)
class OriginalInfo:
    """What the store knows about an original (e.g. from the catalog's Asset for that blob key)."""

    size_bytes: int
    width: int
    height: int
    media_type: str
    orientation: int = 1


OriginalLookup = Callable[[str], Awaitable[OriginalInfo | None]]


def make_buckets(tps: Mapping[str, float] | None = None, *, burst: int = 1) -> dict[str, TokenBucket]:
    """One token bucket per operation (DEFAULT_TPS overridden by `tps`); share the dict among analyzers."""
    return {op: TokenBucket(rate, burst) for op, rate in {**DEFAULT_TPS, **(tps or {})}.items()}


@dataclass(frozen=True)
class Retry:
    """How throttled and transient failures are retried (see rate_limit.call_with_retries)."""

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 10.0
    sleep: Sleep = asyncio.sleep
    random: Callable[[], float] = _random.random


async def call_rekognition(
    client: Any, method: str, bucket: TokenBucket, retry: Retry, **request: Any
) -> Mapping[str, Any]:
    """One Rekognition request: a token from the operation's bucket per attempt, jittered retries on
    throttling and transient errors; the last (or a non-retryable) ClientError propagates."""

    async def call() -> Mapping[str, Any]:
        await bucket.acquire()
        response: Mapping[str, Any] = await getattr(client, method)(**request)
        return response

    return await call_with_retries(
        call,
        attempts=retry.attempts,
        base_delay=retry.base_delay,
        max_delay=retry.max_delay,
        sleep=retry.sleep,
        random=retry.random,
    )


def bucket_for(buckets: Mapping[str, TokenBucket] | TokenBucket, api: str) -> TokenBucket:
    if isinstance(buckets, TokenBucket):
        return buckets
    if api not in buckets:
        raise ValueError(f"no token bucket for {api} (have {', '.join(buckets) or 'none'})")
    return buckets[api]


def s3_fits(info: OriginalInfo) -> bool:
    short, long = sorted((info.width, info.height))
    return (
        0 < info.size_bytes <= S3_MAX_BYTES
        and info.media_type in S3_MEDIA_TYPES
        and info.orientation == 1
        and short >= MIN_SIDE
        and long <= MAX_SIDE
    )


@dataclass(frozen=True)
class PreparedBytes:
    data: bytes
    width: int
    height: int
    fx: float = 1.0  # share of the sent canvas's width the image fills (< 1 when padded)
    fy: float = 1.0


def _usable_as_is(jpeg: bytes) -> tuple[int, int] | None:
    if not (0 < len(jpeg) <= BYTES_MAX and jpeg.startswith(b"\xff\xd8\xff")):
        return None
    try:
        with Image.open(io.BytesIO(jpeg)) as img:
            (w, h), orientation = img.size, img.getexif().get(0x0112, 1)
    except Exception:  # unreadable header: re-encode from the decoded image instead
        return None
    ok = min(w, h) >= MIN_SIDE and max(w, h) <= MAX_SIDE and orientation in (1, None)
    return (w, h) if ok else None


def _canvas(image: Image.Image, scale: float) -> tuple[Image.Image, float, float]:
    w, h = image.size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != image.size:
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        image = image.resize(size, resample)
    cw, ch = max(size[0], MIN_SIDE), max(size[1], MIN_SIDE)
    if (cw, ch) == size:
        return image, 1.0, 1.0
    canvas = Image.new("RGB", (cw, ch), PAD_GRAY)
    canvas.paste(image, (0, 0))
    return canvas, size[0] / cw, size[1] / ch


def prepare_bytes(image: Image.Image, jpeg: bytes, *, max_bytes: int = BYTES_MAX) -> PreparedBytes:
    """Bytes Rekognition accepts for this image (see the module docstring). Blocking CPU work."""
    size = _usable_as_is(jpeg) if len(jpeg) <= max_bytes else None
    if size is not None:
        return PreparedBytes(jpeg, *size)
    image = image if image.mode == "RGB" else image.convert("RGB")
    w, h = image.size
    scale = min(max(1.0, MIN_SIDE / min(w, h)), MAX_SIDE / max(w, h))
    while True:
        canvas, fx, fy = _canvas(image, scale)
        for quality in JPEG_QUALITIES:
            buf = io.BytesIO()
            canvas.save(buf, "JPEG", quality=quality)
            if buf.tell() <= max_bytes:
                return PreparedBytes(buf.getvalue(), canvas.width, canvas.height, fx, fy)
        scale *= 0.75
        if max(w, h) * scale < MIN_SIDE:  # pragma: no cover - an 80 px JPEG is a few kB
            raise ValueError(f"cannot encode the image within {max_bytes} bytes")


def param_number(params: Mapping[str, Any], key: str, lo: float, hi: float) -> float:
    value = float(params[key])
    if not lo <= value <= hi:
        raise ValueError(f"{key} must be within {lo:g}–{hi:g}, got {value:g}")
    return value


def _names(value: object) -> list[str]:
    names = [n.strip() for n in str(value or "").split(",") if n.strip()]
    if len(names) > 100:
        raise ValueError(f"at most 100 names per label filter, got {len(names)}")
    return names


class RekognitionAnalyzer:
    """One analyzer ("labels", "properties", "people", "faces", "text", "moderation") run by Rekognition."""

    provider = PROVIDER

    def __init__(
        self,
        name: str,
        client: Any,  # an entered aiobotocore Rekognition client (types-aiobotocore is not installed)
        *,
        s3_bucket: str | None,
        buckets: Mapping[str, TokenBucket] | TokenBucket,
        original_info: OriginalLookup | None = None,
        defaults: Mapping[str, Scalar] | None = None,
        cpu: CpuPool | None = None,
        attempts: int = 5,
        base_delay: float = 0.25,
        max_delay: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        operation: Operation | None = None,
    ) -> None:
        if operation is None and name not in OPERATIONS:
            raise ValueError(f"unknown Rekognition analyzer {name!r}: choose from {', '.join(OPERATIONS)}")
        self.name = name
        self._op = operation or OPERATIONS[name]
        self._bucket = bucket_for(buckets, self._op.api)
        self._client = client
        self._s3_bucket = s3_bucket
        self._original_info = original_info
        self.defaults: Mapping[str, Scalar] = {**self._op.defaults, **(defaults or {})}
        self._cpu = cpu
        self._retry = Retry(attempts, base_delay, max_delay, sleep, random)
        self._last_version = "unknown" if self._op.version_key else "unreported"
        self._version: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            f"rekognition_{name}_version", default=None
        )

    @property
    def model_name(self) -> str:
        return self._op.model_name

    @property
    def model_version(self) -> str:
        """This task's last call's model version, else the last one seen (see the module docstring)."""
        return self._version.get() or self._last_version

    async def analyze(self, item: AnalysisInput, params: Mapping[str, Any]) -> Findings:
        findings, _ = await self.analyze_with_version(item, params)
        return findings

    async def analyze_with_version(
        self, item: AnalysisInput, params: Mapping[str, Any]
    ) -> tuple[Findings, str]:
        p = {**self.defaults, **params}
        request = self._request(p)  # validate parameters before any work
        image, fx, fy = await self._image(item)
        try:
            response = await self._invoke(item, image, request, p)
        except ClientError as exc:
            if is_retryable(exc) or error_code(exc) not in IMAGE_ERRORS:
                # Retries exhausted, or not about the image (permissions, limits, configuration): the
                # worker's own backoff takes over, so fixing the cause in time saves the asset.
                raise
            raise AnalyzerInputError(f"Rekognition {self._op.method} refused the image: {exc}") from exc
        version = self._last_version
        if self._op.version_key and response.get(self._op.version_key):
            version = self._last_version = str(response[self._op.version_key])
        self._version.set(version)
        return m.unpad(self._map(response, p), fx, fy), version

    async def _invoke(
        self, item: AnalysisInput, image: dict[str, Any], request: dict[str, Any], p: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        return await call_rekognition(
            self._client, self._op.method, self._bucket, self._retry, Image=image, **request
        )

    async def _image(self, item: AnalysisInput) -> tuple[dict[str, Any], float, float]:
        if self._s3_bucket and self._original_info is not None and item.original_key:
            info = await self._original_info(item.original_key)
            if info is not None and s3_fits(info):
                return {"S3Object": {"Bucket": self._s3_bucket, "Name": item.original_key}}, 1.0, 1.0
        size = _usable_as_is(item.jpeg)  # header only: cheap enough for the event loop
        if size is not None:
            return {"Bytes": item.jpeg}, 1.0, 1.0
        if self._cpu is not None:
            prepared = await self._cpu.run(prepare_bytes, item.image, item.jpeg)
        else:
            prepared = await asyncio.to_thread(prepare_bytes, item.image, item.jpeg)
        return {"Bytes": prepared.data}, prepared.fx, prepared.fy

    def _request(self, p: Mapping[str, Any]) -> dict[str, Any]:
        if self.name == "labels":
            request: dict[str, Any] = {
                "Features": ["GENERAL_LABELS"],
                "MinConfidence": param_number(p, "min_confidence", 0, 100),
                "MaxLabels": int(param_number(p, "max_labels", 1, 1000)),
            }
            filters = {field: _names(p.get(key, "")) for key, field in _FILTERS.items()}
            if any(filters.values()):
                request["Settings"] = {"GeneralLabels": {k: v for k, v in filters.items() if v}}
            return request
        if self.name == "properties":
            colors = int(param_number(p, "max_dominant_colors", 0, 20))
            return {
                "Features": ["IMAGE_PROPERTIES"],
                "Settings": {"ImageProperties": {"MaxDominantColors": colors}},
            }
        if self.name == "people":
            return {
                "Features": ["GENERAL_LABELS"],
                "MinConfidence": param_number(p, "min_confidence", 0, 100),
                "Settings": {"GeneralLabels": {"LabelInclusionFilters": [m.PERSON]}},
            }
        param_number(p, "min_confidence", 0, 100)
        if self.name == "faces":
            return {"Attributes": ["DEFAULT"]}
        if self.name == "moderation":
            return {"MinConfidence": param_number(p, "min_confidence", 0, 100)}
        return {}  # text: its confidence filter is applied to lines and words alike, client-side

    def _map(self, response: Mapping[str, Any], p: Mapping[str, Any]) -> Findings:
        mc = float(p.get("min_confidence", 0.0))
        if self.name == "labels":
            return Findings(labels=m.map_labels(response, min_confidence=mc, max_labels=int(p["max_labels"])))
        if self.name == "properties":
            return Findings(properties=m.map_properties(response))
        if self.name == "people":
            return Findings(people=m.map_people(response, min_confidence=mc))
        if self.name == "faces":
            return Findings(faces=m.map_faces(response, min_confidence=mc))
        if self.name == "text":
            return Findings(text=m.map_text(response, min_confidence=mc))
        return Findings(moderation=m.map_moderation(response, min_confidence=mc))


def rekognition_factories(
    client: Any,  # an entered aiobotocore Rekognition client
    *,
    s3_bucket: str | None,
    buckets: Mapping[str, TokenBucket],
    original_info: OriginalLookup | None = None,
    cpu: CpuPool | None = None,
    defaults: Mapping[str, Mapping[str, Scalar]] | None = None,
) -> dict[tuple[str, str], Callable[[], Analyzer]]:
    """{(analyzer, "rekognition"): factory} for AnalyzerRegistry; all share the client and the buckets."""

    def factory(name: str) -> Callable[[], Analyzer]:
        return lambda: RekognitionAnalyzer(
            name,
            client,
            s3_bucket=s3_bucket,
            buckets=buckets,
            original_info=original_info,
            cpu=cpu,
            defaults=(defaults or {}).get(name),
        )

    return {(name, PROVIDER): factory(name) for name in OPERATIONS}
