"""Client-side rate limiting and retries for remote recognizers (Amazon Rekognition).

- `TokenBucket`: `rate_per_s` tokens per second refill a bucket holding at most `burst`; `acquire()` takes
  one token, waiting (FIFO) until one is there. One bucket per remote operation per process: AWS quotas
  are per account and region, so with N worker processes give each 1/N of the quota.
- `call_with_retries`: retries an async call on throttling and transient server errors with "full jitter"
  exponential backoff (delay = random() · min(max_delay, base_delay · 2^retry), retry counted from 0), as
  AWS recommends; any other error propagates at once.

Time is injected (`clock`, `sleep`, `random`) so tests run deterministically without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]

log = logging.getLogger(__name__)

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
SERVER_ERROR_CODES = frozenset(
    {"InternalServerError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException"}
)
# Transport failures of an idempotent read (no response, or none in time): safe and useful to retry.
TRANSIENT_TRANSPORT_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)


class TokenBucket:
    """An asyncio token bucket. Not thread-safe: use it from one event loop."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be ≥ 1, got {burst}")
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)  # starts full
        self._updated = clock()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    @property
    def tokens(self) -> float:
        """Tokens available now (refilled to the clock's current time)."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate_per_s)
        self._updated = now

    async def acquire(self) -> None:
        """Take one token, sleeping until one has refilled if the bucket is empty."""
        async with self._lock:
            self._refill()
            while self._tokens < 1.0:
                await self._sleep((1.0 - self._tokens) / self.rate_per_s)
                self._refill()
            self._tokens -= 1.0


def error_code(exc: BaseException) -> str:
    """A botocore ClientError's service error code ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


# Rekognition's answers that say the image itself cannot be analyzed (retrying cannot help).
IMAGE_ERRORS = frozenset(
    {
        "InvalidImageFormatException",
        "ImageTooLargeException",
        "InvalidS3ObjectException",
        "InvalidParameterException",
    }
)


def is_retryable(exc: BaseException) -> bool:
    """Throttling, a 5xx / internal error of the service, or a transient transport failure."""
    if isinstance(exc, TRANSIENT_TRANSPORT_ERRORS):
        return True
    if not isinstance(exc, ClientError):
        return False
    code = error_code(exc)
    if code in THROTTLING_CODES or code in SERVER_ERROR_CODES:
        return True
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return isinstance(status, int) and status >= 500


def backoff_delay(retry: int, *, base_delay: float, max_delay: float, random: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay · 2^retry)); retry counts from 0."""
    return random() * min(max_delay, base_delay * 2.0**retry)


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base_delay: float = 0.25,
    max_delay: float = 10.0,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    sleep: Sleep = asyncio.sleep,
    random: Callable[[], float] = _random.random,
) -> T:
    """Await fn() up to `attempts` times; between tries on a retryable error, sleep a jittered backoff.

    fn is called afresh each attempt (so a rate-limit token is taken per attempt when fn acquires one).
    The last error is raised when attempts run out; a non-retryable one is raised immediately.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be ≥ 1, got {attempts}")
    for attempt in range(attempts):
        try:
            return await fn()
        except Exception as exc:
            if attempt + 1 >= attempts or not retry_on(exc):
                raise
            delay = backoff_delay(attempt, base_delay=base_delay, max_delay=max_delay, random=random)
            log.warning(
                "attempt %d/%d failed (%s); retrying in %.2fs",
                attempt + 1,
                attempts,
                error_code(exc) or type(exc).__name__,
                delay,
            )
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
