"""Atomic writes, buffered and O_DIRECT: every size comes back byte for byte, and nothing partial stays."""

from __future__ import annotations

import errno
import fcntl
import io
import os
from pathlib import Path

import pytest

from catalog.local import atomic_file
from catalog.local.atomic_file import DIRECT_MIN_BYTES, copy_atomic, write_atomic

needs_o_direct = pytest.mark.skipif(
    not atomic_file._O_DIRECT, reason="no O_DIRECT on this platform: every write is buffered already"
)
SIZES = [0, 1, 4095, 4096, 4097, DIRECT_MIN_BYTES - 1, DIRECT_MIN_BYTES, (4 << 20) + 1, 9 << 20]


@pytest.fixture(autouse=True)
def fresh_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic_file, "_direct_refused", set())


@pytest.mark.parametrize("size", SIZES)
def test_write_and_copy_keep_every_byte(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    write_atomic(tmp_path / "written", data, tmp_dir=tmp_path)
    copy_atomic(tmp_path / "copied", io.BytesIO(data))
    assert (tmp_path / "written").read_bytes() == data
    assert (tmp_path / "copied").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copied", "written"]  # no .partial- left


class Trickle(io.RawIOBase):
    """A stream that hands out at most 1000 bytes per read, as a pipe or a socket may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        piece = self._data.read(min(len(buffer), 1000))
        buffer[: len(piece)] = piece
        return len(piece)


def test_short_reads_still_make_aligned_writes(tmp_path: Path) -> None:
    data = os.urandom(3 * DIRECT_MIN_BYTES + 123)
    copy_atomic(tmp_path / "copied", Trickle(data))  # type: ignore[arg-type]
    assert (tmp_path / "copied").read_bytes() == data


@needs_o_direct
def test_a_filesystem_without_o_direct_gets_buffered_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open
    direct_opens = []

    def refusing_open(path: str | Path, flags: int, mode: int = 0o777) -> int:
        if flags & atomic_file._O_DIRECT:  # as tmpfs before Linux 6.6 and some FUSE mounts answer
            direct_opens.append(path)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", refusing_open)
    data = os.urandom(2 * DIRECT_MIN_BYTES)
    write_atomic(tmp_path / "a", data)
    write_atomic(tmp_path / "b", data)
    with open(tmp_path / "a", "rb") as source:
        copy_atomic(tmp_path / "c", source)
    assert [(tmp_path / name).read_bytes() == data for name in "abc"] == [True] * 3
    assert len(direct_opens) == 1  # refused once, remembered for the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]


@needs_o_direct
def test_a_refused_direct_write_is_made_again_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    refused = []

    def refusing_write(fd: int, data: bytes | memoryview) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & atomic_file._O_DIRECT:
            refused.append(fd)  # as a device with blocks over 4 KiB answers
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", refusing_write)
    data = os.urandom(2 * DIRECT_MIN_BYTES + 5)
    write_atomic(tmp_path / "a", data)
    with open(tmp_path / "a", "rb") as source:
        copy_atomic(tmp_path / "b", source)
    assert (tmp_path / "a").read_bytes() == data and (tmp_path / "b").read_bytes() == data
    assert len(refused) == 1  # refused once, then buffered for the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "disk went away")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    for size in (10, 2 * DIRECT_MIN_BYTES):
        with pytest.raises(OSError, match="disk went away"):
            write_atomic(tmp_path / "x", os.urandom(size))
    assert list(tmp_path.iterdir()) == []
