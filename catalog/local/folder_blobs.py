"""The embedded blob store: a local folder. Keys are validated so no key can leave the folder."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from catalog.domain.blob_keys import validate_key, validate_prefix
from catalog.local.atomic_file import copy_atomic, write_atomic

CHUNK = 256 * 1024  # a ranged read's piece: small enough for many players at once, large enough to be cheap

# Partial writes of a killed process older than this are removed at start-up; younger ones may belong to a
# process that is still writing.
STALE_SECONDS = 600


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._incoming = self.root / ".incoming"  # same filesystem as the blobs: os.replace is atomic
        self._incoming.mkdir(parents=True, exist_ok=True)
        self._remove_stale_partials()

    def _remove_stale_partials(self) -> None:
        cutoff = time.time() - STALE_SECONDS
        for partial in self._incoming.iterdir():
            try:
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
            except FileNotFoundError:
                pass  # another process finished or removed it

    def _path(self, key: str) -> Path:
        validate_key(key)
        # The pattern admits no "..", no leading "/" and no backslash, so the path stays under root
        # without a resolve() (a syscall per path component) on every access.
        return self.root / key

    def _put_sync(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data, tmp_dir=self._incoming)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put_sync, key, data)

    async def put_many(self, blobs: Sequence[tuple[str, bytes, str]]) -> None:
        def put_all() -> None:
            for key, data, _ in blobs:
                self._put_sync(key, data)

        await asyncio.to_thread(put_all)

    def _put_file_sync(self, key: str, source: Path) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as f:
            copy_atomic(path, f, tmp_dir=self._incoming)

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        await asyncio.to_thread(self._put_file_sync, key, source)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    def _get_file_sync(self, key: str, target: Path) -> None:
        with open(self._path(key), "rb") as f:
            copy_atomic(target, f)

    async def get_file(self, key: str, target: Path) -> None:
        await asyncio.to_thread(self._get_file_sync, key, target)

    async def size(self, key: str) -> int:
        path = self._path(key)
        return (await asyncio.to_thread(path.stat)).st_size

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        fd = await asyncio.to_thread(os.open, self._path(key), os.O_RDONLY)
        try:
            while start < end:
                chunk = await asyncio.to_thread(os.pread, fd, min(CHUNK, end - start), start)
                if not chunk:  # the blob is shorter than asked: stop (the caller checked its size)
                    return
                start += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def areas(self) -> list[str]:
        def listing() -> list[str]:
            return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

        return await asyncio.to_thread(listing)

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.root / validate_prefix(prefix)

        def remove() -> int:
            if not folder.is_dir():
                return 0
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder)
            return count

        return await asyncio.to_thread(remove)

    def location(self, key: str) -> str:
        return str(self._path(key).resolve())
