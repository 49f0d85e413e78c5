"""Uploaded files in GraphQL multipart requests: a video is copied to a private temporary file a chunk at a
time (starlette already spooled it to disk), so a multi-gigabyte upload is never whole in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from indexer.ingest_examine import HEAD_BYTES
from indexer.video.sniff import is_video
from services.spill import spill

CHUNK = 1 << 20


async def is_video_upload(upload: Any) -> bool:
    head = await upload.read(HEAD_BYTES)
    await upload.seek(0)
    return is_video(head)


async def spill_upload(upload: Any) -> Path:
    """The upload in a private temporary file (mode 0600); the caller deletes it."""

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(CHUNK):
            yield chunk

    return await spill(chunks(), prefix="mediasight-upload-")
