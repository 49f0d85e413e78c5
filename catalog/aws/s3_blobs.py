"""The scale-out blob store: one S3 bucket (optionally under a key prefix).

Keys follow the same rule as the local store, so a key that works in one deployment works in the other
and no key can reach outside the prefix. S3 makes every PutObject and CompleteMultipartUpload atomic per
object (a reader sees the old or the new version, never a mix), which is the BlobStore contract; a failed
multipart upload is aborted so no invisible, billed parts are left behind.

The client is an already-entered aiobotocore S3 client, created once by the composition root.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

# The local store's key rule, shared (not copied) so both stores accept exactly the same keys.
from catalog.domain.blob_keys import validate_key, validate_prefix

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3 rejects smaller parts (except the last) at CompleteMultipartUpload
MAX_PARTS = 10_000
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week

_MISSING = {"NoSuchKey", "404", "NotFound"}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    def __init__(
        self,
        client: Any,  # an entered aiobotocore S3 client (types-aiobotocore is not installed)
        bucket: str,
        *,
        prefix: str = "",
        multipart_threshold: int = 8 * MiB,
        part_size: int = 8 * MiB,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum part size)")
        if multipart_threshold < 1:
            raise ValueError("multipart_threshold must be positive")
        self._client = client
        self.bucket = bucket
        folder = prefix.rstrip("/")
        self._prefix = validate_key(folder) + "/" if folder else ""
        self._threshold = multipart_threshold
        self._part_size = part_size

    def object_key(self, key: str) -> str:
        """The S3 object key of a blob key (validated)."""
        return self._prefix + validate_key(key)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (`mediasight init`); safe to run repeatedly and concurrently."""
        try:
            await self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise
        region = self._client.meta.region_name
        params: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            await self._client.create_bucket(**params)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":  # another `init` won the race
                raise

    async def put_many(self, blobs: Sequence[tuple[str, bytes, str]]) -> None:
        await asyncio.gather(*(self.put(key, data, content_type) for key, data, content_type in blobs))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        object_key = self.object_key(key)
        if len(data) < self._threshold:
            await self._client.put_object(
                Bucket=self.bucket, Key=object_key, Body=data, ContentType=content_type
            )
            return
        view = memoryview(data)

        async def read(start: int, size: int) -> bytes:
            return bytes(view[start : start + size])

        await self._put_multipart(object_key, len(data), read, content_type)

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        """A local file into the bucket, one part in memory at a time (files reads off the event loop)."""
        object_key = self.object_key(key)
        fd = await asyncio.to_thread(os.open, source, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size

            async def read(start: int, length: int) -> bytes:
                return await asyncio.to_thread(os.pread, fd, length, start)

            if size < self._threshold:
                body = await read(0, size)
                await self._client.put_object(
                    Bucket=self.bucket, Key=object_key, Body=body, ContentType=content_type
                )
            else:
                await self._put_multipart(object_key, size, read, content_type)
        finally:
            os.close(fd)

    async def _put_multipart(
        self, object_key: str, size: int, read: Callable[[int, int], Awaitable[bytes]], content_type: str
    ) -> None:
        # Grow the part size if the blob would otherwise need more parts than S3 allows.
        part_size = max(self._part_size, math.ceil(size / MAX_PARTS))
        created = await self._client.create_multipart_upload(
            Bucket=self.bucket, Key=object_key, ContentType=content_type
        )
        upload_id = created["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, size, part_size), start=1):
                body = await read(start, part_size)
                if len(body) != min(part_size, size - start):
                    raise OSError(f"the source changed size while it was uploaded ({object_key})")
                uploaded = await self._client.upload_part(
                    Bucket=self.bucket, Key=object_key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": uploaded["ETag"]})
            await self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:  # also on cancellation: the parts are invisible but billed until aborted
            await self._abort(object_key, upload_id)
            raise

    async def _abort(self, object_key: str, upload_id: str) -> None:
        # Keep the original error. A bucket lifecycle rule (AbortIncompleteMultipartUpload) is the backstop
        # for uploads we could not abort.
        with contextlib.suppress(ClientError):
            await self._client.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id)

    async def _get_object(self, key: str, **options: str) -> Any:
        try:
            return await self._client.get_object(Bucket=self.bucket, Key=self.object_key(key), **options)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            raise

    async def size(self, key: str) -> int:
        try:
            head = await self._client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            raise
        return int(head["ContentLength"])

    async def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        if start >= end:
            return
        response = await self._get_object(key, Range=f"bytes={start}-{end - 1}")
        body = response["Body"]
        async with body:  # releases the connection, also when the reader stops early
            async for chunk in body.iter_chunks(1 << 20):
                yield chunk

    async def get(self, key: str) -> bytes:
        response = await self._get_object(key)
        async with response["Body"] as stream:
            return bytes(await stream.read())

    async def get_file(self, key: str, target: Path) -> None:
        """The object streamed into target in chunks (a partial download never appears as target)."""
        response = await self._get_object(key)
        partial = target.with_name(f".partial-{target.name}")
        fd = await asyncio.to_thread(os.open, partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            body = response["Body"]  # aiobotocore's StreamingBody: read(amt) checks the length at the end
            async with body:  # releases the connection, also when the download fails
                while chunk := await body.read(1 << 20):
                    await asyncio.to_thread(_write_all, fd, chunk)
            await asyncio.to_thread(os.fsync, fd)
            os.close(fd)
            fd = -1
            os.replace(partial, target)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            partial.unlink(missing_ok=True)
            raise

    async def exists(self, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            # Without s3:ListBucket permission S3 answers 403 (not 404) for a missing key: that raises.
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        # DeleteObject succeeds for a missing key: idempotent as it is.
        await self._client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    async def areas(self) -> list[str]:
        found: list[str] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._prefix, Delimiter="/"
        )
        async for page in pages:
            found += [p["Prefix"][len(self._prefix) :].rstrip("/") for p in page.get("CommonPrefixes", ())]
        return sorted(found)

    async def delete_prefix(self, prefix: str) -> int:
        """ListObjectsV2 pages of up to 1,000 keys, each removed with one DeleteObjects call."""
        count = 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._prefix + validate_prefix(prefix)
        )
        async for page in pages:
            objects = [{"Key": o["Key"]} for o in page.get("Contents", ())]
            if not objects:
                continue
            response = await self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
            if errors := response.get("Errors"):
                first = errors[0]
                raise RuntimeError(
                    f"S3 refused to delete {len(errors)} objects under {prefix!r}, e.g. "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
            count += len(objects)
        return count

    async def presigned_get(self, key: str, expires_in: int) -> str:
        """A URL anyone can GET the blob with for `expires_in` seconds (renditions served straight from S3).

        Signing is local (no request is made), so a URL for a missing key is still returned; it answers 404.
        """
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_in must be 1..{MAX_PRESIGN_SECONDS} seconds")
        url = await self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=expires_in,
        )
        return str(url)
