"""The face collection the services use: the catalog's face store, plus a remote face collection
(Amazon Rekognition) for the faces indexed there.

Which way a face is matched is decided by the face itself, not by the tenant's current setting: a face with
a FaceId is searched in the remote collection, a face with an embedding among the local vectors. A tenant
that switches provider keeps working with the faces it has (each way finds only faces of its own kind).
Person names and links always live in the store; the remote collection holds only identities, and its
matches come back as FaceRefs through the FaceIds the store recorded when the faces were indexed. A FaceId
the store does not know (an IndexFaces whose analysis never completed) is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from catalog.model import Face, FaceHit, FaceRef, Person
from catalog.ports import FaceCollection, FaceMatch, StoredFace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteMatch:
    asset_id: str  # the ExternalImageId the face was indexed with
    face_id: str
    similarity: float  # 0–100


class NoFaceFound(ValueError):
    """The image sent for a face search shows no face the remote collection can search with."""


class RemoteFaceIndex(Protocol):
    """A tenant-partitioned face collection of a provider (Rekognition: one collection per tenant)."""

    async def search_face(
        self, tenant_id: str, face_id: str, *, min_similarity: float, limit: int
    ) -> list[RemoteMatch]:
        """Faces matching an indexed face (never the face itself), most similar first."""
        ...

    async def search_image(
        self, tenant_id: str, image: Image.Image, *, min_similarity: float, limit: int
    ) -> list[RemoteMatch]:
        """Faces matching the largest face in the image; NoFaceFound if it has none."""
        ...

    async def delete(self, tenant_id: str, face_ids: Sequence[str]) -> None: ...


class RemoteUnavailable(LookupError):
    """Faces of a remote collection, but no remote collection is configured on this server."""


class RoutedFaceCollection:
    """FaceCollection over the catalog's store, routing each face's matching to where it was indexed."""

    def __init__(self, store: FaceCollection) -> None:
        self._store = store
        self._remote: RemoteFaceIndex | None = None

    def use_remote(self, remote: RemoteFaceIndex) -> None:
        """Set once the provider's client exists (bootstrap: use_rekognition)."""
        self._remote = remote

    async def index_faces(
        self,
        tenant_id: str,
        asset_id: str,
        embeddings: Sequence[Sequence[float]],
        *,
        face_ids: Sequence[str] = (),
    ) -> None:
        """Record the asset's faces; remote faces the asset no longer has are deleted from the collection."""
        if self._remote is None:
            await self._store.index_faces(tenant_id, asset_id, embeddings, face_ids=face_ids)
            return
        kept = set(face_ids)
        old = await self._store.stored_faces(tenant_id, [asset_id])
        await self._store.index_faces(tenant_id, asset_id, embeddings, face_ids=face_ids)
        gone = [f.face_id for f in old if f.face_id and f.face_id not in kept]
        if gone:
            try:
                await self._remote.delete(tenant_id, gone)
            except Exception:  # the store no longer knows them: left behind they are ignored, never matched
                log.warning(
                    "could not delete %d replaced faces of asset %s", len(gone), asset_id, exc_info=True
                )

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        """Remote faces first: if that fails the store still has their FaceIds for the next attempt."""
        remote_ids = [f.face_id for f in await self._store.stored_faces(tenant_id, [asset_id]) if f.face_id]
        if remote_ids:
            if self._remote is None:
                raise RemoteUnavailable(
                    f"asset {asset_id} has faces in a remote collection: enable Rekognition"
                )
            await self._remote.delete(tenant_id, remote_ids)
        await self._store.delete_asset(tenant_id, asset_id)

    async def matches(
        self, tenant_id: str, face: Face, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        if not face.face_id:
            return await self._store.matches(tenant_id, face, min_similarity=min_similarity, limit=limit)
        if self._remote is None:
            raise RemoteUnavailable(
                "this face was indexed by Rekognition, which is not enabled on this server"
            )
        found = await self._remote.search_face(
            tenant_id, face.face_id, min_similarity=min_similarity, limit=limit
        )
        return await self._resolve(tenant_id, found)

    async def image_matches(
        self, tenant_id: str, image: Image.Image, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        """Matches of the largest face in the image, from the remote collection (NoFaceFound if none)."""
        if self._remote is None:
            raise RemoteUnavailable(
                "the tenant's faces are on Rekognition, which is not enabled on this server"
            )
        found = await self._remote.search_image(tenant_id, image, min_similarity=min_similarity, limit=limit)
        return await self._resolve(tenant_id, found)

    async def _resolve(self, tenant_id: str, found: Sequence[RemoteMatch]) -> list[FaceMatch]:
        """Remote matches → the store's faces (asset, face_index, person), most similar first."""
        stored = await self._store.stored_faces(tenant_id, [m.asset_id for m in found])
        by_id = {(f.face.asset_id, f.face_id): f for f in stored if f.face_id}
        out = [
            FaceMatch(face.face, round(m.similarity, 2), face.person_id)
            for m in found
            if (face := by_id.get((m.asset_id, m.face_id))) is not None
        ]
        out.sort(key=lambda fm: -fm.similarity)
        return out

    # ---- the rest is the store's -----------------------------------------------------------------------

    async def search(
        self, tenant_id: str, embedding: Sequence[float], *, max_distance: float, limit: int
    ) -> list[FaceHit]:
        return await self._store.search(tenant_id, embedding, max_distance=max_distance, limit=limit)

    async def stored_faces(self, tenant_id: str, asset_ids: Sequence[str]) -> list[StoredFace]:
        return await self._store.stored_faces(tenant_id, asset_ids)

    async def create_person(self, tenant_id: str, name: str) -> Person:
        return await self._store.create_person(tenant_id, name)

    async def person_by_name(self, tenant_id: str, name: str) -> Person | None:
        return await self._store.person_by_name(tenant_id, name)

    async def persons(self, tenant_id: str, person_ids: Sequence[str]) -> dict[str, Person]:
        return await self._store.persons(tenant_id, person_ids)

    async def assign(self, tenant_id: str, faces: Sequence[FaceRef], person_id: str) -> None:
        await self._store.assign(tenant_id, faces, person_id)

    async def face_persons(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[FaceRef, str]:
        return await self._store.face_persons(tenant_id, asset_ids)
