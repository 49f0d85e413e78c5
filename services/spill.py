"""Streams to private temporary files: an upload or an S3 object that may be a multi-gigabyte video is
written a chunk at a time (off the event loop), never held whole in memory."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable
from pathlib import Path


class SpillTooLarge(Exception):
    """The stream went past the limit it was given; nothing is left on disk."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def spill(chunks: AsyncIterable[bytes], *, limit: int | None = None, prefix: str) -> Path:
    """The chunks in a new temporary file (mode 0600), which the caller deletes."""
    fd, name = await asyncio.to_thread(tempfile.mkstemp, prefix=prefix)
    try:
        seen = 0
        async for chunk in chunks:
            seen += len(chunk)
            if limit is not None and seen > limit:
                raise SpillTooLarge
            await asyncio.to_thread(_write_all, fd, chunk)
    except BaseException:
        os.close(fd)
        os.unlink(name)  # a local temp file: nothing to wait for
        raise
    os.close(fd)
    return Path(name)
