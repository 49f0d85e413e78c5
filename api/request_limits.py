"""Limits on a GraphQL request's bytes and JSON, checked before strawberry parses or coerces anything.

The query limits (api.query_limits) bound the document; these bound what comes before it. Without them a
12 MB variables list is read whole, parsed and coerced on the event loop (seconds, every tenant waiting)
before a resolver says "at most 50". So, in order:
- the body is counted while it is read: a JSON request, or a multipart request's parts other than the file,
  past their cap is refused (at once when Content-Length says so);
- json.loads costs grow with the number of values, not bytes: the commas, brackets and braces are counted
  (C speed) before parsing, which keeps one parse to a few milliseconds;
- the variables are walked before graphql-core and strawberry coerce them (~3 µs a scalar, 30-100 µs an
  input object: 300,000 objects held the loop for 4.8 s): a list past MAX_LIST_ITEMS, more than
  MAX_VARIABLE_VALUES values or MAX_VARIABLE_OBJECTS objects are refused;
- the query text has a length cap (comments are lexed but never count as tokens).
Each refusal is a GraphQL-shaped JSON error with a code and says which limit and what to do.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import request_response
from starlette.types import Message, Receive, Scope, Send

MAX_JSON_BYTES = 1024 * 1024  # a JSON body, and each multipart part other than the file
MAX_JSON_VALUES = 20_000  # commas + brackets + braces in one JSON text
MAX_QUERY_CHARS = 20_000  # the query text (1,000 tokens fit easily)
MAX_LIST_ITEMS = 5_000  # one list in the variables (5,000 asset IDs ≈ 200 kB)
MAX_VARIABLE_VALUES = 6_000  # every value in the variables (lists and objects count, and what they hold)
MAX_VARIABLE_OBJECTS = 100  # objects in the variables: strawberry builds each (~30-100 µs); filters take 50
MAX_FORM_BYTES = 16 * 1024  # the pages' own forms (sign-in): a key and where to go next
MULTIPART_FIELDS = 16  # operations, map, and the files: ingestAsset takes one
MULTIPART_OVERHEAD = MAX_JSON_BYTES + 64 * 1024  # a multipart body: the file plus this


class RequestRefused(Exception):
    """A request refused before it ran: HTTP status, machine-readable code, and what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def response(self) -> JSONResponse:
        body = {"errors": [{"message": str(self), "extensions": {"code": self.code}}]}
        return JSONResponse(body, status_code=self.status)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def body_limit(content_type: str, max_upload_bytes: int) -> int:
    """How many body bytes a request of this type may send."""
    if content_type.startswith("multipart/"):
        return max_upload_bytes + MULTIPART_OVERHEAD
    return MAX_JSON_BYTES


def _too_large(size: int | None, limit: int, multipart: bool, max_upload_bytes: int) -> RequestRefused:
    said = f"{size:,} bytes" if size is not None else "larger"
    if multipart:
        return RequestRefused(
            413,
            "REQUEST_TOO_LARGE",
            f"the upload request is {said}; files up to {max_upload_bytes:,} bytes are accepted "
            "(the server's MEDIASIGHT_MAX_UPLOAD_BYTES for images, MEDIASIGHT_MAX_VIDEO_BYTES for videos)",
        )
    return RequestRefused(
        413,
        "REQUEST_TOO_LARGE",
        f"the request body is {said}, over the limit of {_mib(limit)}: send smaller variables "
        "(select many assets with a filter instead of listing their IDs)",
    )


def check_declared_length(headers: dict[str, str], content_type: str, max_upload_bytes: int) -> None:
    """Refuse at once when Content-Length already says the body is over its limit."""
    limit = body_limit(content_type, max_upload_bytes)
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit, content_type.startswith("multipart/"), max_upload_bytes)


def capped_receive(receive: Receive, content_type: str, max_upload_bytes: int) -> Receive:
    """`receive` that raises RequestRefused once the body passes its limit (checked while reading)."""
    limit = body_limit(content_type, max_upload_bytes)
    multipart = content_type.startswith("multipart/")
    return _counted(receive, limit, lambda: _too_large(None, limit, multipart, max_upload_bytes))


def _counted(receive: Receive, limit: int, refusal: Callable[[], RequestRefused]) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise refusal()
        return message

    return wrapped


class SmallBody:
    """A request-response endpoint (the pages' forms) whose body may be at most `limit` bytes: refused
    from its Content-Length, or while it is read (starlette reads url-encoded forms whole). An ASGI app:
    a class, since starlette's Route takes a plain function for a request-response endpoint."""

    def __init__(
        self, endpoint: Callable[[Request], Awaitable[Response]], limit: int = MAX_FORM_BYTES
    ) -> None:
        self._app = request_response(endpoint)
        self._limit = limit

    def _refusal(self) -> RequestRefused:
        return RequestRefused(413, "REQUEST_TOO_LARGE", f"a form may send at most {_mib(self._limit)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        try:
            if declared.isdigit() and int(declared) > self._limit:
                raise self._refusal()
            await self._app(scope, _counted(receive, self._limit, self._refusal), send)
        except RequestRefused as exc:
            await exc.response()(scope, receive, send)


def decode_request_json(data: str | bytes) -> object:
    """A GraphQL request's JSON (a body, a multipart `operations` or `map`, GET variables), checked."""
    if len(data) > MAX_JSON_BYTES:
        raise RequestRefused(
            413, "REQUEST_TOO_LARGE", f"a JSON part is over the limit of {_mib(MAX_JSON_BYTES)}"
        )
    raw = data.encode() if isinstance(data, str) else data
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if values > MAX_JSON_VALUES:
        raise RequestRefused(
            413,
            "TOO_MANY_VALUES",
            f"the request's JSON holds more than {MAX_JSON_VALUES:,} values: send fewer "
            "(select many assets with a filter instead of listing their IDs)",
        )
    try:
        parsed = json.loads(raw)
    except RecursionError as exc:
        raise RequestRefused(400, "BAD_JSON", "the request's JSON is nested too deeply") from exc
    except ValueError as exc:
        raise RequestRefused(400, "BAD_JSON", f"the request body is not valid JSON: {exc}") from exc
    return parsed


def check_operation(query: str | None, variables: dict[str, Any] | None) -> None:
    """The query's length and the variables' size, before anything parses or coerces them."""
    if query is not None and len(query) > MAX_QUERY_CHARS:
        raise RequestRefused(
            413,
            "QUERY_TOO_LONG",
            f"the query text is {len(query):,} characters, over the limit of {MAX_QUERY_CHARS:,}: "
            "ask for fewer fields, and pass values as variables",
        )
    if variables:
        check_variables(variables)


def check_variables(variables: dict[str, Any]) -> None:
    """Walk the variables (iteratively, stopping at the first limit passed)."""
    count = objects = 0
    stack: list[tuple[str, Any]] = list(variables.items())
    while stack:
        path, value = stack.pop()
        count += 1
        objects += isinstance(value, dict)
        if count > MAX_VARIABLE_VALUES or objects > MAX_VARIABLE_OBJECTS:
            raise RequestRefused(
                413,
                "VARIABLES_TOO_LARGE",
                f"the variables hold more than {MAX_VARIABLE_VALUES:,} values or {MAX_VARIABLE_OBJECTS} "
                "objects: send fewer (select many assets with a filter instead of listing their IDs)",
            )
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise RequestRefused(
                    413,
                    "LIST_TOO_LONG",
                    f"variable `{path}` is a list of {len(value):,} items, over the limit of "
                    f"{MAX_LIST_ITEMS:,}: send fewer (a filter selects many assets at once)",
                )
            stack.extend((path, item) for item in value)
        elif isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in value.items())
