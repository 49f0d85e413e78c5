"""Amazon Rekognition face collections: one per tenant, faces indexed by the "faces" analyzer.

- CollectionId = prefix + tenant ID (Rekognition allows `[a-zA-Z0-9_.-]`, ≤ 255; our tenant IDs are UUIDs),
  created on first use (CreateCollection; ResourceAlreadyExistsException means another process won), and
  again if it was deleted behind our back (IndexFaces → ResourceNotFoundException).
- IndexFaces with ExternalImageId = asset ID (a UUID: within `[a-zA-Z0-9_.-:]`) and DEFAULT attributes,
  for the faces analyzer (rekognition_face_indexer).
- SearchFaces (by FaceId) for matches and naming, SearchFacesByImage for search by photo, DeleteFaces when
  an asset is deleted or its faces are replaced. Similarity is Rekognition's own 0–100, the scale the local
  path maps its distances onto (catalog.domain.faces.identity), so thresholds mean the same on both. A
  collection deleted behind our back holds no faces: searches answer none (and it is created again on
  next use).
- ListFaces for `list_faces`, which face_collection.sweep_orphans uses to delete FaceIds the catalog does
  not know (an IndexFaces whose analysis never completed).
Every call spends a token of its operation's bucket and is retried on throttling and transient errors
(`call_rekognition`), except IndexFaces: not idempotent (a retry after a timeout or 5xx that did index
would leave duplicate FaceIds), it is retried on throttling only. Searches and deletes that fail for an
outage (retries spent) raise RemoteUnavailable, the face-collection port's "try again later".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from indexer.cpu import CpuPool
from indexer.recognizers.ports import (
    AnalyzerInputError,
    NoFaceFound,
    RemoteFace,
    RemoteMatch,
    RemoteUnavailable,
)
from indexer.recognizers.rekognition import mapping as m
from indexer.recognizers.rekognition.calls import Retry, bucket_for, call_rekognition, is_throttled
from indexer.recognizers.rekognition.images import prepare_off_loop
from indexer.recognizers.rekognition.rate_limit import TokenBucket, error_code, is_retryable

log = logging.getLogger(__name__)

COLLECTION_ID = re.compile(r"[a-zA-Z0-9_.\-]{1,255}")
EXTERNAL_IMAGE_ID = re.compile(r"[a-zA-Z0-9_.\-:]{1,255}")
MAX_FACES = 4096  # SearchFaces / SearchFacesByImage MaxFaces, DeleteFaces FaceIds per call
_APIS = (
    "CreateCollection",
    "IndexFaces",
    "SearchFaces",
    "SearchFacesByImage",
    "DeleteFaces",
    "ListFaces",
    "DeleteCollection",
)


def collection_id(prefix: str, tenant_id: str) -> str:
    cid = f"{prefix}{tenant_id}"
    if not COLLECTION_ID.fullmatch(cid):
        raise ValueError(f"{cid!r} is not a valid Rekognition CollectionId ([a-zA-Z0-9_.-], at most 255)")
    return cid


def _raise_if_outage(exc: Exception, api: str) -> None:
    """A failure that retries could not overcome (throttling, 5xx, network) raises the port's error."""
    if is_retryable(exc):
        cause = error_code(exc) or type(exc).__name__
        raise RemoteUnavailable(
            f"Amazon Rekognition is not answering ({api}: {cause}): try again in a few minutes"
        ) from exc


class RekognitionFaceCollections:
    """The tenants' Rekognition collections (RemoteFaceIndex), on one shared, entered aiobotocore client."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str,
        buckets: Mapping[str, TokenBucket] | TokenBucket,
        cpu: CpuPool | None = None,
        retry: Retry | None = None,
    ) -> None:
        collection_id(prefix, "0")  # a bad prefix fails at start, not on the first asset
        self._client = client
        self._prefix = prefix
        self._buckets = {api: bucket_for(buckets, api) for api in _APIS}
        self._cpu = cpu
        self._retry = retry or Retry()
        self._known: set[str] = set()  # collections this process created or saw exist
        self._locks: dict[str, asyncio.Lock] = {}

    def collection_id(self, tenant_id: str) -> str:
        return collection_id(self._prefix, tenant_id)

    async def _call(self, api: str, method: str, **request: Any) -> Mapping[str, Any]:
        retry_on = is_throttled if api == "IndexFaces" else is_retryable
        return await call_rekognition(
            self._client, method, self._buckets[api], self._retry, retry_on=retry_on, **request
        )

    async def ensure(self, tenant_id: str) -> str:
        """The tenant's CollectionId, the collection created if this process has not seen it yet."""
        cid = self.collection_id(tenant_id)
        if cid in self._known:
            return cid
        async with self._locks.setdefault(cid, asyncio.Lock()):
            if cid not in self._known:
                try:
                    await self._call("CreateCollection", "create_collection", CollectionId=cid)
                    log.info("created Rekognition collection %s", cid)
                except ClientError as exc:
                    if error_code(exc) != "ResourceAlreadyExistsException":
                        raise
                self._known.add(cid)
        return cid

    async def index_faces(
        self, tenant_id: str, asset_id: str, image: dict[str, Any], **request: Any
    ) -> Mapping[str, Any]:
        """IndexFaces of one asset's image (Image as Rekognition takes it: Bytes or S3Object)."""
        if not EXTERNAL_IMAGE_ID.fullmatch(asset_id):
            raise AnalyzerInputError(f"asset ID {asset_id!r} cannot be a Rekognition ExternalImageId")
        for attempt in range(2):
            cid = await self.ensure(tenant_id)
            try:
                return await self._call(
                    "IndexFaces",
                    "index_faces",
                    CollectionId=cid,
                    Image=image,
                    ExternalImageId=asset_id,
                    DetectionAttributes=["DEFAULT"],
                    **request,
                )
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException" or attempt:
                    raise
                self._known.discard(cid)  # deleted behind our back: create it again
        raise AssertionError("unreachable")  # pragma: no cover

    async def search_face(
        self, tenant_id: str, face_id: str, *, min_similarity: float, limit: int
    ) -> list[RemoteMatch]:
        if limit <= 0:
            return []
        cid = self.collection_id(tenant_id)
        try:
            response = await self._call(
                "SearchFaces",
                "search_faces",
                CollectionId=cid,
                FaceId=face_id,
                FaceMatchThreshold=float(min_similarity),
                MaxFaces=min(limit, MAX_FACES),
            )
        except (ClientError, BotoCoreError) as exc:
            _raise_if_outage(exc, "SearchFaces")
            # No collection, or the face is no longer in it (deleted): it matches nothing.
            if error_code(exc) in ("ResourceNotFoundException", "InvalidParameterException"):
                log.warning("SearchFaces %s for tenant %s: %s", face_id, tenant_id, error_code(exc))
                self._forget(cid, exc)
                return []
            raise
        return m.map_face_matches(response)

    async def search_image(
        self, tenant_id: str, image: Image.Image, *, min_similarity: float, limit: int
    ) -> list[RemoteMatch]:
        prepared = await prepare_off_loop(self._cpu, image, b"")
        try:
            cid = await self.ensure(tenant_id)
            response = await self._call(
                "SearchFacesByImage",
                "search_faces_by_image",
                CollectionId=cid,
                Image={"Bytes": prepared.data},
                FaceMatchThreshold=float(min_similarity),
                MaxFaces=min(max(limit, 1), MAX_FACES),
            )
        except (ClientError, BotoCoreError) as exc:
            _raise_if_outage(exc, "SearchFacesByImage")
            code = error_code(exc)
            if code == "InvalidParameterException":  # what Rekognition answers when it finds no face
                raise NoFaceFound("Rekognition found no face in the image") from exc
            if code in ("InvalidImageFormatException", "ImageTooLargeException"):
                raise AnalyzerInputError(f"Rekognition refused the image: {code}") from exc
            if code == "ResourceNotFoundException":  # deleted behind our back: no faces to match
                log.warning("SearchFacesByImage for tenant %s: its collection is gone", tenant_id)
                self._forget(self.collection_id(tenant_id), exc)
                return []
            raise
        return m.map_face_matches(response)[: max(limit, 0)]

    async def delete(self, tenant_id: str, face_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(f for f in face_ids if f))
        cid = self.collection_id(tenant_id)
        for start in range(0, len(ids), MAX_FACES):
            try:
                await self._call(
                    "DeleteFaces", "delete_faces", CollectionId=cid, FaceIds=ids[start : start + MAX_FACES]
                )
            except (ClientError, BotoCoreError) as exc:
                _raise_if_outage(exc, "DeleteFaces")
                if error_code(exc) == "ResourceNotFoundException":
                    self._forget(cid, exc)
                    return  # no collection: nothing of it to delete
                raise

    async def drop_collection(self, tenant_id: str) -> bool:
        cid = self.collection_id(tenant_id)
        try:
            await self._call("DeleteCollection", "delete_collection", CollectionId=cid)
        except (ClientError, BotoCoreError) as exc:
            _raise_if_outage(exc, "DeleteCollection")
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return False
        finally:
            self._known.discard(cid)
        log.info("deleted Rekognition collection %s", cid)
        return True

    async def list_faces(self, tenant_id: str) -> list[RemoteFace]:
        """Every face in the tenant's collection (none when it has no collection)."""
        cid = self.collection_id(tenant_id)
        found: list[RemoteFace] = []
        request: dict[str, Any] = {"CollectionId": cid, "MaxResults": MAX_FACES}
        while True:
            try:
                response = await self._call("ListFaces", "list_faces", **request)
            except (ClientError, BotoCoreError) as exc:
                _raise_if_outage(exc, "ListFaces")
                if error_code(exc) == "ResourceNotFoundException":
                    self._forget(cid, exc)
                    return []
                raise
            found += [
                RemoteFace(f.get("ExternalImageId", ""), f["FaceId"]) for f in response.get("Faces", [])
            ]
            if not response.get("NextToken"):
                return found
            request["NextToken"] = response["NextToken"]

    def _forget(self, cid: str, exc: Exception) -> None:
        """A collection found missing is created again on its next use (the cache of known ones lied)."""
        if error_code(exc) == "ResourceNotFoundException":
            self._known.discard(cid)
