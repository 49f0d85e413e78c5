"""The face collection the services use: the catalog's face store, plus a remote face collection
(Amazon Rekognition) for the faces indexed there.

Which way a face is matched is decided by the face itself, not by the tenant's current setting: a face with
a FaceId is searched in the remote collection, a face with an embedding among the local vectors. A tenant
that switches provider keeps working with the faces it has (each way finds only faces of its own kind).
Person names and links always live in the store; the remote collection holds only identities, and its
matches come back as FaceRefs through the FaceIds the store recorded when the faces were indexed. A FaceId
the store does not know (an IndexFaces whose analysis never completed) is ignored, and deleted by
`sweep_orphans`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from PIL import Image

from catalog.domain.model import BoundingBox, Face, FaceHit, FaceRef, Person
from catalog.domain.ports import FaceCollection, FaceMatch, StoredFace
from indexer.recognizers.ports import RemoteFace, RemoteFaceIndex, RemoteMatch, RemoteUnavailable

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[object]]


_NOT_ENABLED = "Amazon Rekognition is not enabled on this server: ask its operator to enable it"


class RoutedFaceCollection:
    """FaceCollection over the catalog's store, routing each face's matching to where it was indexed."""

    def __init__(self, store: FaceCollection) -> None:
        self._store = store
        self._remote: RemoteFaceIndex | None = None

    def use_remote(self, remote: RemoteFaceIndex) -> None:
        """Set once the provider's client exists (bootstrap: Services.add_provider)."""
        self._remote = remote

    async def index_faces(
        self,
        tenant_id: str,
        asset_id: str,
        embeddings: Sequence[Sequence[float]],
        *,
        boxes: Sequence[BoundingBox],
        face_ids: Sequence[str] = (),
    ) -> list[str]:
        """Record the asset's faces; the remote faces this write replaced are deleted from the collection.

        The replaced FaceIds are the store's answer to the write itself (not a read before it), so of two
        workers re-indexing one asset each deletes exactly the FaceIds its own write dropped. A failed
        delete leaves them behind: the store no longer knows them, so they are never matched; they are
        logged (and `sweep_orphans` removes them later)."""
        replaced = await self._store.index_faces(
            tenant_id, asset_id, embeddings, boxes=boxes, face_ids=face_ids
        )
        if not replaced:
            return replaced
        if self._remote is None:
            log.warning(
                "asset %s no longer has remote faces %s, but no remote collection is configured to delete "
                "them from",
                asset_id,
                ", ".join(replaced),
            )
            return replaced
        try:
            await self._remote.delete(tenant_id, replaced)
        except Exception:
            log.warning(
                "could not delete replaced faces %s of asset %s (tenant %s) from the remote collection",
                ", ".join(replaced),
                asset_id,
                tenant_id,
                exc_info=True,
            )
        return replaced

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        """Remote faces first: if that fails the store still has their FaceIds for the next attempt."""
        remote_ids = [f.face_id for f in await self._store.stored_faces(tenant_id, [asset_id]) if f.face_id]
        if remote_ids:
            if self._remote is None:
                raise RemoteUnavailable(f"asset {asset_id} has faces on Rekognition. {_NOT_ENABLED}")
            await self._remote.delete(tenant_id, remote_ids)
        await self._store.delete_asset(tenant_id, asset_id)

    async def drop_remote(self, tenant_id: str, *, used_remote: bool) -> bool:
        """A deleted tenant's remote collection (True if there was one). A tenant that used the remote
        collection cannot be deleted without it: its faces would stay on the provider."""
        if self._remote is None:
            if used_remote:
                raise RemoteUnavailable(f"the tenant's faces are on Rekognition. {_NOT_ENABLED}")
            return False
        return await self._remote.drop_collection(tenant_id)

    async def matches(
        self, tenant_id: str, face: Face, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        if not face.face_id:
            return await self._store.matches(tenant_id, face, min_similarity=min_similarity, limit=limit)
        if self._remote is None:
            raise RemoteUnavailable(f"this face was indexed by Rekognition. {_NOT_ENABLED}")
        found = await self._remote.search_face(
            tenant_id, face.face_id, min_similarity=min_similarity, limit=limit
        )
        return await self._resolve(tenant_id, found)

    async def image_matches(
        self, tenant_id: str, image: Image.Image, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        """Matches of the largest face in the image, from the remote collection (NoFaceFound if none)."""
        if self._remote is None:
            raise RemoteUnavailable(f"your tenant's faces are on Rekognition. {_NOT_ENABLED}")
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

    async def sweep_orphans(
        self, tenant_id: str, *, grace_seconds: float = 120.0, sleep: Sleep = asyncio.sleep
    ) -> list[str]:
        """Delete the FaceIds in the tenant's remote collection the store does not know (an IndexFaces whose
        analysis never completed, or a delete that failed); returns them.

        A face indexed moments ago is stored only when its analysis completes: a FaceId unknown at first is
        looked up again after `grace_seconds`, and deleted only if it is still unknown then."""
        if self._remote is None:
            raise RemoteUnavailable(f"cannot sweep the tenant's remote faces. {_NOT_ENABLED}")
        suspects = await self._unknown(tenant_id, await self._remote.list_faces(tenant_id))
        if suspects and grace_seconds > 0:
            await sleep(grace_seconds)
            suspects = await self._unknown(tenant_id, suspects)
        orphans = [f.face_id for f in suspects]
        if orphans:
            await self._remote.delete(tenant_id, orphans)
            log.info("deleted %d orphan remote faces of tenant %s: %s", len(orphans), tenant_id, orphans)
        return orphans

    async def _unknown(self, tenant_id: str, faces: Sequence[RemoteFace]) -> list[RemoteFace]:
        stored = await self._store.stored_faces(tenant_id, list({f.asset_id for f in faces if f.asset_id}))
        known = {(f.face.asset_id, f.face_id) for f in stored if f.face_id}
        return [f for f in faces if (f.asset_id, f.face_id) not in known]

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
