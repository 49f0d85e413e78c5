"""Amazon Rekognition face collections: one per tenant, faces indexed by the "faces" analyzer.

- CollectionId = prefix + tenant ID (Rekognition allows `[a-zA-Z0-9_.-]`, ≤ 255; our tenant IDs are UUIDs),
  created on first use (CreateCollection; ResourceAlreadyExistsException means another process won), and
  again if it was deleted behind our back (IndexFaces → ResourceNotFoundException).
- IndexFaces with ExternalImageId = asset ID (a UUID: within `[a-zA-Z0-9_.-:]`), DEFAULT attributes, MaxFaces
  and QualityFilter (AUTO by default) as analyzer parameters. `RekognitionFaceIndexer` is the faces analyzer
  itself: its findings are IndexFaces' faces, so each FaceId is stored with the face it belongs to and
  face_index lines up by construction (no matching of boxes between two calls).
- SearchFaces (by FaceId) for matches and naming, SearchFacesByImage for search by photo, DeleteFaces when
  an asset is deleted or its faces are replaced. Similarity is Rekognition's own 0–100, the scale the local
  path maps its distances onto (catalog.face_identity), so thresholds mean the same on both. A collection
  deleted behind our back holds no faces: searches answer none (and it is created again on next use).
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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from catalog.model import Findings
from catalog.ports import CatalogStore
from indexer.cpu import CpuPool
from indexer.face_collection import NoFaceFound, RemoteFace, RemoteMatch, RemoteUnavailable
from indexer.ingest import parse_original_key
from indexer.recognizers import rekognition_mapping as m
from indexer.recognizers.ports import AnalysisInput, AnalyzerInputError
from indexer.recognizers.rate_limit import TokenBucket, error_code, is_retryable
from indexer.recognizers.rekognition import Operation, RekognitionAnalyzer, Scalar, param_number
from indexer.recognizers.rekognition_calls import Retry, bucket_for, call_rekognition, is_throttled
from indexer.recognizers.rekognition_images import prepare_off_loop

log = logging.getLogger(__name__)

COLLECTION_ID = re.compile(r"[a-zA-Z0-9_.\-]{1,255}")
EXTERNAL_IMAGE_ID = re.compile(r"[a-zA-Z0-9_.\-:]{1,255}")
MAX_FACES = 4096  # SearchFaces / SearchFacesByImage MaxFaces, DeleteFaces FaceIds per call
QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
INDEX_FACES = Operation(
    "index_faces",
    "IndexFaces",
    "amazon-rekognition-index-faces",
    "FaceModelVersion",
    {"min_confidence": 0.0, "max_faces": 20, "quality_filter": "AUTO"},
)
_APIS = ("CreateCollection", "IndexFaces", "SearchFaces", "SearchFacesByImage", "DeleteFaces", "ListFaces")

AssetOf = Callable[[str], Awaitable[tuple[str, str] | None]]  # original's blob key → (tenant ID, asset ID)


def collection_id(prefix: str, tenant_id: str) -> str:
    cid = f"{prefix}{tenant_id}"
    if not COLLECTION_ID.fullmatch(cid):
        raise ValueError(f"{cid!r} is not a valid Rekognition CollectionId ([a-zA-Z0-9_.-], at most 255)")
    return cid


def _outage(exc: Exception, api: str) -> RemoteUnavailable | None:
    """A failure that retries could not overcome (throttling, 5xx, network) as the port's error."""
    if not is_retryable(exc):
        return None
    cause = error_code(exc) or type(exc).__name__
    return RemoteUnavailable(
        f"Amazon Rekognition is not answering ({api}: {cause}): try again in a few minutes"
    )


def asset_of_original(catalog: CatalogStore) -> AssetOf:
    """(tenant, asset) of a content-addressed original key, from the catalog."""

    async def lookup(key: str) -> tuple[str, str] | None:
        parsed = parse_original_key(key)
        asset = await catalog.find_asset_by_sha256(*parsed) if parsed else None
        return (asset.tenant_id, asset.id) if asset else None

    return lookup


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
            if (down := _outage(exc, "SearchFaces")) is not None:
                raise down from exc
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
            if (down := _outage(exc, "SearchFacesByImage")) is not None:
                raise down from exc
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
                if (down := _outage(exc, "DeleteFaces")) is not None:
                    raise down from exc
                if error_code(exc) == "ResourceNotFoundException":
                    self._forget(cid, exc)
                    return  # no collection: nothing of it to delete
                raise

    async def list_faces(self, tenant_id: str) -> list[RemoteFace]:
        """Every face in the tenant's collection (none when it has no collection)."""
        cid = self.collection_id(tenant_id)
        found: list[RemoteFace] = []
        request: dict[str, Any] = {"CollectionId": cid, "MaxResults": MAX_FACES}
        while True:
            try:
                response = await self._call("ListFaces", "list_faces", **request)
            except (ClientError, BotoCoreError) as exc:
                if (down := _outage(exc, "ListFaces")) is not None:
                    raise down from exc
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


class RekognitionFaceIndexer(RekognitionAnalyzer):
    """The "faces" analyzer on Rekognition with face search: IndexFaces into the tenant's collection.

    The image is the asset's (its original key tells the tenant and asset). Faces indexed but below
    min_confidence are deleted again at once, so every FaceId in the collection belongs to a stored face.
    """

    def __init__(
        self,
        client: Any,
        collections: RekognitionFaceCollections,
        asset_of: AssetOf,
        *,
        buckets: Mapping[str, TokenBucket] | TokenBucket,
        defaults: Mapping[str, Scalar] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__("faces", client, buckets=buckets, defaults=defaults, operation=INDEX_FACES, **kw)
        self._collections = collections
        self._asset_of = asset_of

    def _request(self, p: Mapping[str, Any]) -> dict[str, Any]:
        param_number(p, "min_confidence", 0, 100)
        quality = str(p["quality_filter"]).upper()
        if quality not in QUALITY_FILTERS:
            raise ValueError(f"quality_filter must be one of {', '.join(QUALITY_FILTERS)}, got {quality!r}")
        return {"MaxFaces": int(param_number(p, "max_faces", 1, 100)), "QualityFilter": quality}

    async def _invoke(
        self, item: AnalysisInput, image: dict[str, Any], request: dict[str, Any], p: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        owner = await self._asset_of(item.original_key) if item.original_key else None
        if owner is None:
            raise AnalyzerInputError("cannot index faces: the image is not the stored original of an asset")
        tenant_id, asset_id = owner
        response = await self._collections.index_faces(tenant_id, asset_id, image, **request)
        _, dropped = m.map_indexed_faces(response, min_confidence=float(p["min_confidence"]))
        if dropped:
            try:  # failing the analysis for it would index the faces again: more FaceIds left behind
                await self._collections.delete(tenant_id, dropped)
            except Exception:
                log.warning(
                    "could not delete faces %s of asset %s below min_confidence from the collection",
                    ", ".join(dropped),
                    asset_id,
                    exc_info=True,
                )
        return response

    def _map(self, response: Mapping[str, Any], p: Mapping[str, Any]) -> Findings:
        faces, _ = m.map_indexed_faces(response, min_confidence=float(p["min_confidence"]))
        return Findings(faces=faces)
