"""How every Amazon Rekognition request is made: a token from the operation's bucket, then jittered retries.

One token bucket per API operation per process (AWS quotas are per account and region); the analyzers and
the face collections share one dict of them (labels, properties and people all spend the DetectLabels
quota). Retries follow rate_limit.call_with_retries: throttling, 5xx and transport failures by default.
An operation that is not idempotent (IndexFaces: a retry after a timeout or a 5xx may index the faces a
second time, leaving FaceIds nobody knows) is retried on throttling only (`retry_on=is_throttled`), which
Rekognition answers before doing any work.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from indexer.recognizers.rekognition.rate_limit import (
    THROTTLING_CODES,
    Sleep,
    TokenBucket,
    call_with_retries,
    error_code,
    is_retryable,
)

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
    "ListFaces": 5.0,
    "DeleteCollection": 1.0,
}


def make_buckets(tps: Mapping[str, float] | None = None, *, burst: int = 1) -> dict[str, TokenBucket]:
    """One token bucket per operation (DEFAULT_TPS overridden by `tps`); share the dict among analyzers."""
    return {op: TokenBucket(rate, burst) for op, rate in {**DEFAULT_TPS, **(tps or {})}.items()}


def bucket_for(buckets: Mapping[str, TokenBucket] | TokenBucket, api: str) -> TokenBucket:
    if isinstance(buckets, TokenBucket):
        return buckets
    if api not in buckets:
        raise ValueError(f"no token bucket for {api} (have {', '.join(buckets) or 'none'})")
    return buckets[api]


@dataclass(frozen=True)
class Retry:
    """How throttled and transient failures are retried (see rate_limit.call_with_retries)."""

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 10.0
    sleep: Sleep = asyncio.sleep
    random: Callable[[], float] = _random.random


def is_throttled(exc: BaseException) -> bool:
    """Rekognition refused the request for the rate: nothing was done, so any request may be sent again."""
    return error_code(exc) in THROTTLING_CODES


async def call_rekognition(
    client: Any,
    method: str,
    bucket: TokenBucket,
    retry: Retry,
    *,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    **request: Any,
) -> Mapping[str, Any]:
    """One Rekognition request: a token from the operation's bucket per attempt, jittered retries on the
    errors `retry_on` accepts; the last (or a non-retryable) error propagates."""

    async def call() -> Mapping[str, Any]:
        await bucket.acquire()
        response: Mapping[str, Any] = await getattr(client, method)(**request)
        return response

    return await call_with_retries(
        call,
        attempts=retry.attempts,
        base_delay=retry.base_delay,
        max_delay=retry.max_delay,
        retry_on=retry_on,
        sleep=retry.sleep,
        random=retry.random,
    )
