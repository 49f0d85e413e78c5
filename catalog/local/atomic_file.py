"""Atomic file writes: readers (and a crash) see the whole file or none of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, tmp_dir: Path | None = None) -> None:
    """Write to a temporary file in tmp_dir (same filesystem as path), fsync, then rename over path."""
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or path.parent, prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
