"""What ingest learns about a file before registering it, in one pass on a CPU thread: its bytes (an image
is read once, whole), their SHA-256, and the probe's verdict. Blocking work: callers run it in the pool."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from catalog.domain.model import ImageInfo
from indexer.image_errors import ImageRejected
from indexer.imaging import probe
from indexer.video.probe import probe_video
from indexer.video.sniff import is_video

HEAD_BYTES = 4096  # what tells a video container from an image
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Examined:
    """An image's digest and probe (info), or why the probe refused it (rejected)."""

    sha256: str
    info: ImageInfo | None = None
    rejected: ImageRejected | None = None


@dataclass(frozen=True)
class FileRead:
    """A file as ingest_file saw it: its first bytes and size; for an image within the limit, also all its
    bytes and their examination (a video, or a file over the limit, is not read further)."""

    head: bytes
    size: int
    data: bytes | None = None
    examined: Examined | None = None

    @property
    def video(self) -> bool:
        return is_video(self.head)


def examine(data: bytes, max_pixels: int) -> Examined:
    """The bytes' SHA-256 and probe (typed refusals are returned, not raised)."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        return Examined(sha256, info=probe(data, max_pixels=max_pixels))
    except ImageRejected as exc:
        return Examined(sha256, rejected=exc)


def read_file(path: Path, *, max_bytes: int, max_pixels: int) -> FileRead:
    """Open the file once: its head and size; an image within max_bytes is read to the end (from the same
    descriptor: one read of the file) and examined. OSError: the file itself cannot be read."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        size = os.fstat(f.fileno()).st_size
        if is_video(head) or size > max_bytes:
            return FileRead(head, size)
        f.seek(0)
        data = f.read(size + 1)  # one buffer of the size seen, and a byte more to tell that it grew
        if len(data) > size:  # still being written: read on, up to the limit
            data += f.read(max(0, max_bytes + 1 - len(data)))
    if len(data) > max_bytes:
        return FileRead(head, len(data))
    return FileRead(head, len(data), data, examine(data, max_pixels))


def hash_and_probe_video(path: Path) -> tuple[str, ImageInfo, int]:
    """The file's SHA-256 (read in chunks), what its probe says as an ImageInfo (typed refusals), and its
    size."""
    info = probe_video(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    found = ImageInfo(
        media_type=info.media_type, width=info.width, height=info.height, captured_at=info.recorded_at
    )
    return digest.hexdigest(), found, path.stat().st_size
