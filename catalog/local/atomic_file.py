"""Atomic file writes: readers (and a crash) see the whole file or none of it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _replace_atomically(path: Path, tmp_dir: Path | None, write: Callable[[BinaryIO], object]) -> None:
    """Write to a temporary file in tmp_dir (same filesystem as path), fsync, then rename over path."""
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or path.parent, prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, *, tmp_dir: Path | None = None) -> None:
    _replace_atomically(path, tmp_dir, lambda f: f.write(data))


def copy_atomic(path: Path, source: BinaryIO, *, tmp_dir: Path | None = None) -> None:
    """write_atomic for a stream: copied in 1 MiB chunks, never all in memory."""
    _replace_atomically(path, tmp_dir, lambda f: shutil.copyfileobj(source, f, 1 << 20))
