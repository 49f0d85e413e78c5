"""A stored blob as an HTTP response: streamed in chunks (an original video may be gigabytes), with Range
requests (a player seeks in a proxy), HEAD, and a validator for If-Range / If-None-Match."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.transfer.byte_ranges import ByteRange, RangeNotSatisfiable, parse_range
from catalog.domain.ports import BlobStore


def entity_tag(key: str, size: int) -> str:
    # Blob keys are written once per content (originals are content-addressed, renditions are rewritten
    # only with the same content), so the key and size identify the bytes without reading them.
    return '"' + hashlib.sha256(f"{key}:{size}".encode()).hexdigest()[:32] + '"'


async def blob_response(
    blobs: BlobStore, request: Request, key: str, media_type: str, headers: dict[str, str]
) -> Response:
    try:
        size = await blobs.size(key)
    except FileNotFoundError:
        return JSONResponse(
            {"error": "the file is missing from storage; run `mediasight verify` to find what is damaged"},
            status_code=404,
        )
    etag = entity_tag(key, size)
    common = {**headers, "Accept-Ranges": "bytes", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=common)
    if_range = request.headers.get("if-range")
    try:
        # a Range with an If-Range naming other bytes (the blob changed since) gets the whole blob
        wanted = parse_range(request.headers.get("range"), size) if if_range in (None, etag) else None
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    part = wanted or ByteRange(0, size)
    if wanted is not None:
        common["Content-Range"] = part.content_range(size)
    common["Content-Length"] = str(part.length)
    status = 206 if wanted is not None else 200
    if request.method == "HEAD":
        return Response(status_code=status, headers=common, media_type=media_type)
    return StreamingResponse(
        blobs.read_range(key, part.start, part.end), status_code=status, headers=common, media_type=media_type
    )
