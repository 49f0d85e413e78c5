"""Reading a file for ingest: once, whole for an image within the limit, head only for a video or a file
over the limit; a file still being written is read to its end (up to the limit), not to the size seen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from indexer import ingest_examine
from indexer.ingest_examine import read_file
from tests.conftest import jpeg_bytes

PIXELS = 100_000_000


def test_an_image_is_read_whole_and_examined(tmp_path: Path) -> None:
    data = jpeg_bytes((10, 20, 30), (300, 200))
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    read = read_file(path, max_bytes=len(data), max_pixels=PIXELS)
    assert (read.data, read.size, read.video) == (data, len(data), False)
    assert read.examined is not None and read.examined.info is not None
    assert (read.examined.info.width, read.examined.info.height) == (300, 200)


def test_a_file_over_the_limit_is_not_read_further(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes((10, 20, 30), (300, 200)))
    read = read_file(path, max_bytes=100, max_pixels=PIXELS)
    assert (read.data, read.examined, read.size) == (None, None, path.stat().st_size)


def test_a_growing_file_is_read_to_its_end_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jpeg_bytes((10, 20, 30), (300, 200))
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    real_fstat = os.fstat

    def earlier(fd: int) -> Any:  # the size as it was when the file was opened, before the writer finished
        seen = real_fstat(fd)
        return os.stat_result((*seen[:6], len(data) - 700, *seen[7:]))

    monkeypatch.setattr(ingest_examine.os, "fstat", earlier)
    read = read_file(path, max_bytes=len(data), max_pixels=PIXELS)
    assert read.data == data and read.size == len(data)
    assert read.examined is not None and read.examined.rejected is None  # not cut short: not "truncated"
    over = read_file(path, max_bytes=len(data) - 1, max_pixels=PIXELS)
    assert over.data is None and over.size > len(data) - 1


def test_a_broken_image_is_examined_with_its_refusal(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes((10, 20, 30), (300, 200))[:500])
    read = read_file(path, max_bytes=10_000, max_pixels=PIXELS)
    assert read.examined is not None and read.examined.rejected is not None
    assert read.examined.rejected.code == "truncated" and read.examined.info is None
