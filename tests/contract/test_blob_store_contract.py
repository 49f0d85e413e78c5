"""The BlobStore contract, run against the local folder and against S3 (moto's server, real HTTP)."""

from __future__ import annotations

import asyncio
import os
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.aws.s3_blobs import MiB, S3BlobStore
from catalog.domain.blob_keys import BlobKeyError
from catalog.local.folder_blobs import LocalBlobStore

KEY = "originals/t1/ab/abcdef"
BAD_KEYS = ["../escape", "a/../../b", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "a/b\x00", "a/.."]

Store = LocalBlobStore | S3BlobStore
MakeStore = Callable[..., Awaitable[Store]]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(backend: str, request: pytest.FixtureRequest) -> Any:
    """The S3 client for the s3 backend (looked up here: only sync fixtures may ask for fixtures lazily)."""
    return request.getfixturevalue("s3_client") if backend == "s3" else None


@pytest.fixture
def make_store(backend: str, client: Any, tmp_path: Path) -> MakeStore:
    """A factory of fresh, empty stores (a new folder or a new bucket) so tests stay independent."""

    async def make(**options: Any) -> Store:
        if backend == "local":
            return LocalBlobStore(tmp_path / f"blobs-{uuid.uuid4().hex[:8]}")
        store = S3BlobStore(client, f"ms-contract-{uuid.uuid4().hex[:16]}", **options)
        await store.ensure_bucket()
        return store

    return make


@pytest.fixture
async def store(make_store: MakeStore) -> Store:
    return await make_store()


async def test_put_many_writes_each_blob(store: Store) -> None:
    blobs = [
        ("renditions/t1/a1/preview.jpg", b"\xff\xd8 preview", "image/jpeg"),
        ("renditions/t1/a1/thumbnail.jpg", b"\xff\xd8 thumb", "image/jpeg"),
    ]
    await store.put_many(blobs)
    assert [await store.get(key) for key, _, _ in blobs] == [b"\xff\xd8 preview", b"\xff\xd8 thumb"]
    await store.put_many([])  # nothing to write is no error
    with pytest.raises(BlobKeyError):
        await store.put_many([("../escape", b"x", "image/jpeg")])


async def test_put_get_roundtrip(store: Store) -> None:
    await store.put(KEY, b"\xff\xd8 jpeg bytes", "image/jpeg")
    assert await store.get(KEY) == b"\xff\xd8 jpeg bytes"
    assert await store.exists(KEY)


async def test_empty_blob_roundtrips(store: Store) -> None:
    await store.put("renditions/t1/empty", b"", "application/octet-stream")
    assert await store.get("renditions/t1/empty") == b""
    assert await store.exists("renditions/t1/empty")


async def test_put_overwrites(store: Store) -> None:
    await store.put(KEY, b"first version", "image/jpeg")
    await store.put(KEY, b"second", "image/png")
    assert await store.get(KEY) == b"second"


async def test_missing_key_is_file_not_found(store: Store) -> None:
    with pytest.raises(FileNotFoundError):
        await store.get("originals/t1/zz/missing")
    assert not await store.exists("originals/t1/zz/missing")


async def test_delete_is_idempotent(store: Store) -> None:
    await store.delete(KEY)  # never written
    await store.put(KEY, b"x", "image/jpeg")
    await store.delete(KEY)
    await store.delete(KEY)
    assert not await store.exists(KEY)
    with pytest.raises(FileNotFoundError):
        await store.get(KEY)


async def test_keys_are_independent(store: Store) -> None:
    await store.put("a/b", b"1", "text/plain")
    await store.put("a/b.c", b"2", "text/plain")
    await store.delete("a/b")
    assert await store.get("a/b.c") == b"2"


async def test_delete_prefix_removes_one_folder_only(store: Store) -> None:
    for key in ("originals/t1/ab/x", "originals/t1/cd/y", "renditions/t1/a/thumb.jpg", "originals/t10/ab/z"):
        await store.put(key, b"1", "text/plain")
    assert await store.areas() == ["originals", "renditions"]
    assert await store.delete_prefix("originals/t1/") == 2
    assert await store.delete_prefix("originals/t1/") == 0  # idempotent
    assert not await store.exists("originals/t1/ab/x")
    assert await store.exists("originals/t10/ab/z")  # "t1/" is a folder, not a string prefix of "t10"
    assert await store.exists("renditions/t1/a/thumb.jpg")


async def test_delete_prefix_of_many_pages(store: Store) -> None:
    # DeleteObjects takes 1,000 keys: more takes several pages
    count = 1003 if isinstance(store, S3BlobStore) else 20
    await asyncio.gather(*(store.put(f"exports/t1/{i:05d}", b"", "text/plain") for i in range(count)))
    assert await store.delete_prefix("exports/t1/") == count
    assert await store.areas() in ([], ["exports"])  # S3 has no folders; a local store keeps the area


@pytest.mark.parametrize("prefix", ["originals/t1", "../t1/", "/originals/", "a//b/", ""])
async def test_invalid_prefixes_are_rejected(store: Store, prefix: str) -> None:
    with pytest.raises(BlobKeyError):
        await store.delete_prefix(prefix)


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_rejected(store: Store, key: str) -> None:
    with pytest.raises(BlobKeyError):
        await store.put(key, b"x", "text/plain")
    with pytest.raises(BlobKeyError):
        await store.get(key)
    with pytest.raises(BlobKeyError):
        await store.exists(key)
    with pytest.raises(BlobKeyError):
        await store.delete(key)
    if isinstance(store, S3BlobStore):
        with pytest.raises(BlobKeyError):
            await store.presigned_get(key, 60)


async def test_large_blob_roundtrips_in_parts(make_store: MakeStore, client: Any) -> None:
    # moto enforces S3's 5 MiB minimum for every part but the last: 11 MiB = 5 + 5 + 1.
    store = await make_store(multipart_threshold=6 * MiB, part_size=5 * MiB)
    data = os.urandom(11 * MiB)
    await store.put(KEY, data, "image/tiff")
    assert await store.get(KEY) == data
    if isinstance(store, S3BlobStore):
        head = await client.head_object(Bucket=store.bucket, Key=store.object_key(KEY))
        assert head["ETag"].strip('"').endswith("-3")  # a multipart object's ETag counts its parts
        assert head["ContentType"] == "image/tiff"


def write_mib(path: Path, mib: int) -> None:
    with open(path, "wb") as f:  # written in pieces, like a camera file that never was in memory
        for _ in range(mib):
            f.write(os.urandom(MiB))


def same_bytes(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".partial")]


async def test_files_stream_in_and_out_in_parts_with_little_memory(
    make_store: MakeStore, client: Any, tmp_path: Path
) -> None:
    store = await make_store(multipart_threshold=6 * MiB, part_size=5 * MiB)
    source = tmp_path / "clip.mp4"
    write_mib(source, 40)  # 8 parts of 5 MiB
    tracemalloc.start()
    try:
        await store.put_file(KEY, source, "video/mp4")
        await store.get_file(KEY, tmp_path / "back.mp4")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a few parts in flight at most (a sent part's bytes may linger until collected), never the whole file
    assert peak < 20 * MiB
    assert same_bytes(tmp_path / "back.mp4", source)
    assert not partials(tmp_path)
    if isinstance(store, S3BlobStore):
        head = await client.head_object(Bucket=store.bucket, Key=store.object_key(KEY))
        assert head["ETag"].strip('"').endswith("-8")
        assert head["ContentType"] == "video/mp4"


async def test_small_files_and_missing_blobs(store: Store, tmp_path: Path) -> None:
    (tmp_path / "a.vtt").write_bytes(b"WEBVTT\n")
    await store.put_file(KEY, tmp_path / "a.vtt", "text/vtt")
    assert await store.get(KEY) == b"WEBVTT\n"
    with pytest.raises(FileNotFoundError):
        await store.get_file("originals/t1/none", tmp_path / "none.mp4")
    assert not (tmp_path / "none.mp4").exists()
    with pytest.raises(BlobKeyError):
        await store.put_file("../escape", tmp_path / "a.vtt", "text/vtt")


async def ranged(store: Store, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in store.read_range(key, start, end)])


async def test_ranges_of_a_blob_are_read_in_chunks(make_store: MakeStore, tmp_path: Path) -> None:
    store = await make_store()
    data = os.urandom(3 * MiB + 17)  # more than one chunk of either store
    await store.put(KEY, data, "video/mp4")
    assert await store.size(KEY) == len(data)
    assert await ranged(store, KEY, 0, len(data)) == data
    assert await ranged(store, KEY, MiB - 5, 2 * MiB + 9) == data[MiB - 5 : 2 * MiB + 9]
    assert await ranged(store, KEY, len(data) - 1, len(data)) == data[-1:]
    assert await ranged(store, KEY, 10, 10) == b""
    with pytest.raises(FileNotFoundError):
        await store.size("originals/t1/zz/missing")
    with pytest.raises(FileNotFoundError):
        await ranged(store, "originals/t1/zz/missing", 0, 10)
    with pytest.raises(BlobKeyError):
        await store.size("../escape")


async def test_a_reader_that_stops_early_releases_the_blob(make_store: MakeStore) -> None:
    """A player seeks away mid-response: the generator is closed, and the store keeps serving."""
    store = await make_store()
    data = os.urandom(4 * MiB)
    await store.put(KEY, data, "video/mp4")
    for _ in range(20):  # more than a connection pool holds, were connections leaked
        chunks = store.read_range(KEY, 0, len(data))
        first = await anext(chunks)
        assert first == data[: len(first)]
        await chunks.aclose()
    assert await ranged(store, KEY, 5, 50) == data[5:50]


# ---- S3 only -------------------------------------------------------------------------------------------


@pytest.fixture
async def s3_store(s3_client: Any) -> S3BlobStore:
    store = S3BlobStore(s3_client, f"ms-contract-{uuid.uuid4().hex[:16]}")
    await store.ensure_bucket()
    return store


class FailingParts:
    """The real client, except that the second UploadPart fails (a dropped connection mid-upload)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.parts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def upload_part(self, **params: Any) -> Any:
        self.parts += 1
        if self.parts == 2:
            raise ConnectionResetError("connection dropped")
        return await self._client.upload_part(**params)


@pytest.mark.s3
async def test_failed_file_upload_is_aborted(s3_store: S3BlobStore, s3_client: Any, tmp_path: Path) -> None:
    store = S3BlobStore(FailingParts(s3_client), s3_store.bucket, multipart_threshold=1, part_size=5 * MiB)
    (tmp_path / "big.mov").write_bytes(os.urandom(11 * MiB))
    with pytest.raises(ConnectionResetError):
        await store.put_file(KEY, tmp_path / "big.mov", "video/quicktime")
    assert not await store.exists(KEY)
    assert (await s3_client.list_multipart_uploads(Bucket=s3_store.bucket)).get("Uploads", []) == []


@pytest.mark.s3
async def test_failed_multipart_upload_is_aborted(s3_store: S3BlobStore, s3_client: Any) -> None:
    store = S3BlobStore(FailingParts(s3_client), s3_store.bucket, multipart_threshold=1, part_size=5 * MiB)
    with pytest.raises(ConnectionResetError):
        await store.put(KEY, os.urandom(11 * MiB), "image/tiff")
    assert not await store.exists(KEY)
    uploads = await s3_client.list_multipart_uploads(Bucket=s3_store.bucket)
    assert uploads.get("Uploads", []) == []


@pytest.mark.s3
async def test_presigned_url_is_fetchable(s3_store: S3BlobStore) -> None:
    await s3_store.put("renditions/t1/thumb", b"thumbnail bytes", "image/webp")
    url = await s3_store.presigned_get("renditions/t1/thumb", 60)
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.content == b"thumbnail bytes"
        assert response.headers["content-type"] == "image/webp"
        tampered = await http.get(url.replace("thumb", "thumc"))
        assert tampered.status_code in {403, 404}
    with pytest.raises(ValueError):
        await s3_store.presigned_get("renditions/t1/thumb", 0)


@pytest.mark.s3
async def test_prefix_scopes_every_key(s3_store: S3BlobStore, s3_client: Any) -> None:
    scoped = S3BlobStore(s3_client, s3_store.bucket, prefix="deployment-a/")
    await scoped.put(KEY, b"scoped", "image/jpeg")
    assert await scoped.get(KEY) == b"scoped"
    assert not await s3_store.exists(KEY)
    assert await s3_store.get(f"deployment-a/{KEY}") == b"scoped"
    for bad in ["../x", "/abs", "a/../b"]:
        with pytest.raises(BlobKeyError):
            S3BlobStore(s3_client, s3_store.bucket, prefix=bad)


@pytest.mark.s3
async def test_ensure_bucket_is_idempotent(s3_store: S3BlobStore) -> None:
    await s3_store.put(KEY, b"kept", "image/jpeg")
    await s3_store.ensure_bucket()
    assert await s3_store.get(KEY) == b"kept"


@pytest.mark.s3
async def test_other_errors_are_not_disguised_as_missing(s3_client: Any) -> None:
    store = S3BlobStore(s3_client, f"ms-contract-{uuid.uuid4().hex[:16]}")  # bucket never created
    with pytest.raises(Exception) as caught:
        await store.get(KEY)
    assert not isinstance(caught.value, FileNotFoundError)
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"  # type: ignore[attr-defined]


@pytest.mark.s3
def test_parts_smaller_than_s3_allows_are_refused() -> None:
    with pytest.raises(ValueError):
        S3BlobStore(object(), "any", part_size=MiB)
