from __future__ import annotations

from pathlib import Path

import pytest

from catalog.domain.blob_keys import BlobKeyError
from catalog.local.folder_blobs import LocalBlobStore


async def test_put_get_roundtrip_and_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put("originals/t1/ab/abc", b"bytes", "image/jpeg")
    assert await store.get("originals/t1/ab/abc") == b"bytes"
    assert await store.exists("originals/t1/ab/abc")
    await store.delete("originals/t1/ab/abc")
    assert not await store.exists("originals/t1/ab/abc")
    assert list((tmp_path / "blobs/originals/t1/ab").iterdir()) == []
    assert list((tmp_path / "blobs/.incoming").iterdir()) == []  # no partial writes left


@pytest.mark.parametrize(
    "key", ["../escape", "a/../../b", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "a/b\x00"]
)
async def test_keys_cannot_leave_the_folder(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(BlobKeyError):
        await store.put(key, b"x", "text/plain")
    with pytest.raises(BlobKeyError):
        await store.get(key)
