"""Amazon Rekognition behind the Analyzer port: labels, properties, people, faces, text, moderation.

One `RekognitionAnalyzer` per analyzer name, all sharing one already-entered aiobotocore client (created
once in the composition root; never here) and one dict of per-operation token buckets
(rekognition_calls). Which image is sent, S3Object or bytes: rekognition_images. Responses → findings:
rekognition_mapping. Face collections (IndexFaces instead of DetectFaces): rekognition_faces.

model_version: DetectLabels / DetectText / DetectModerationLabels report their model version only in the
response. The pipeline reads `analyzer.model_version` right after `await analyzer.analyze(...)` in the same
task, so the version is kept in a per-instance ContextVar (exact for that call even with many assets in
flight) and, outside that task, the last version seen by any call ("unknown" before the first call).
`analyze_with_version` returns it explicitly. DetectFaces reports none: "unreported".
"""

from __future__ import annotations

import asyncio
import contextvars
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from catalog.domain.model import Findings
from indexer.cpu import CpuPool
from indexer.recognizers.ports import AnalysisInput, Analyzer, AnalyzerInputError
from indexer.recognizers.rekognition import mapping as m
from indexer.recognizers.rekognition.calls import (
    DEFAULT_TPS,
    Retry,
    bucket_for,
    call_rekognition,
    make_buckets,
)
from indexer.recognizers.rekognition.images import OriginalInfo, OriginalLookup, image_to_send
from indexer.recognizers.rekognition.rate_limit import (
    IMAGE_ERRORS,
    Sleep,
    TokenBucket,
    error_code,
    is_retryable,
)

# What the composition root takes from here (defined in the modules above).
__all__ = [
    "DEFAULT_TPS",
    "OPERATIONS",
    "PROVIDER",
    "Operation",
    "OriginalInfo",
    "OriginalLookup",
    "RekognitionAnalyzer",
    "Scalar",
    "make_buckets",
    "param_number",
    "rekognition_factories",
]

PROVIDER = "rekognition"
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
    "objects": Operation(*_LABELS, {"min_confidence": 50.0}),
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
    """One analyzer ("labels", "objects", "properties", "people", "faces", "text", "moderation") run by
    Rekognition."""

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
        return await image_to_send(
            item, s3_bucket=self._s3_bucket, original_info=self._original_info, cpu=self._cpu
        )

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
        if self.name == "objects":  # instances come with labels; their confidence is filtered client-side
            param_number(p, "min_confidence", 0, 100)
            return {"Features": ["GENERAL_LABELS"], "MaxLabels": 1000}
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
        if self.name == "objects":
            return Findings(labels=m.map_objects(response, min_confidence=mc))
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
