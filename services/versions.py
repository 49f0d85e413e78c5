"""The asset-version tree: linking versions without cycles, walking it, deleting with care."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from catalog.domain.blob_keys import sidecar_key
from catalog.domain.model import Asset, VersionRelation
from catalog.domain.ports import BlobStore, CatalogStore, FaceCollection, JobQueue, SearchIndex
from services.ingest import REFRESH_JOB

MAX_DEPTH = 100  # a guard for walks; trees this deep are a bug somewhere
MAX_DELETE = 1000


async def walk_up(load: Callable[[str], Awaitable[Asset | None]], asset: Asset) -> list[Asset]:
    """Parent first, root last (bounded: a deeper chain is cut at MAX_DEPTH). `load` fetches one of the
    asset's tenant's assets by ID: a DataLoader's makes the walks of a whole page one call per level."""
    chain: list[Asset] = []
    current = asset
    while current.parent_id is not None and len(chain) < MAX_DEPTH:
        parent = await load(current.parent_id)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return chain


async def ancestors(catalog: CatalogStore, asset: Asset) -> list[Asset]:
    """Parent first, root last."""
    return await walk_up(lambda asset_id: catalog.get_asset(asset.tenant_id, asset_id), asset)


async def root_id(catalog: CatalogStore, asset: Asset) -> str:
    chain = await ancestors(catalog, asset)
    return chain[-1].id if chain else asset.id


class VersionError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def keyframe_refusal(asset: Asset, *, as_parent: bool) -> VersionError | None:
    """Why a video's keyframe cannot take part in a version link (None: the asset is no keyframe). A
    keyframe is made by its video's analysis, which replaces it when the video is analysed again: versions
    belong under the video, and the keyframe stays where its analysis put it."""
    if not asset.is_keyframe:
        return None
    if as_parent:
        return VersionError(
            "KEYFRAME",
            f"{asset.id} is a keyframe of the video {asset.parent_id}, made by its analysis: add versions "
            "to the video instead",
        )
    return VersionError(
        "KEYFRAME",
        f"{asset.id} is a keyframe of the video {asset.parent_id}: it stays in the video's tree, where its "
        "analysis put it",
    )


@dataclass(frozen=True)
class TreeNode:
    asset: Asset
    depth: int


class VersionService:
    def __init__(
        self,
        catalog: CatalogStore,
        index: SearchIndex,
        faces: FaceCollection,
        blobs: BlobStore,
        queue: JobQueue,
        *,
        on_deleted: Callable[[str, Sequence[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._on_deleted = on_deleted  # told the IDs of the assets a delete removed (webhooks)
        self._catalog = catalog
        self._queue = queue
        self._index = index
        self._faces = faces
        self._blobs = blobs

    async def _get(self, tenant_id: str, asset_id: str) -> Asset:
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None:
            raise VersionError("NOT_FOUND", f"no asset {asset_id} in your tenant")
        return asset

    async def ancestors(self, tenant_id: str, asset: Asset) -> list[Asset]:
        """Parent first, root last."""
        return await ancestors(self._catalog, asset)

    async def check_parent(self, tenant_id: str, parent_id: str) -> None:
        """Raise VersionError unless the asset can take a new version (NOT_FOUND, KEYFRAME)."""
        if refusal := keyframe_refusal(await self._get(tenant_id, parent_id), as_parent=True):
            raise refusal

    async def link(self, tenant_id: str, asset_id: str, parent_id: str, relation: VersionRelation) -> Asset:
        """Make asset a version of parent; refused if it would make a cycle, or either is a keyframe."""
        asset, parent = await self._get(tenant_id, asset_id), await self._get(tenant_id, parent_id)
        if refusal := keyframe_refusal(asset, as_parent=False) or keyframe_refusal(parent, as_parent=True):
            raise refusal
        if asset.id == parent.id or asset.id in {a.id for a in await self.ancestors(tenant_id, parent)}:
            raise VersionError("CYCLE", f"{parent_id} descends from {asset_id}: the link would make a cycle")
        await self._catalog.set_parent(tenant_id, asset.id, parent.id, relation)
        moved = await self._get(tenant_id, asset_id)
        for node in await self.tree(tenant_id, moved, MAX_DEPTH):  # the subtree has a new root: re-index it
            await self._queue.enqueue(REFRESH_JOB, tenant_id, node.asset.id)
        return moved

    async def tree(
        self, tenant_id: str, root: Asset, depth: int, *, limit: int | None = None
    ) -> list[TreeNode]:
        """Breadth-first from root down to `depth` levels; the first `limit` nodes when given (a walk
        stops reading there, so a huge tree costs no more than `limit`)."""
        nodes, level = [TreeNode(root, 0)], [root]
        for d in range(1, depth + 1):
            if limit is not None and len(nodes) >= limit:
                break
            children = await self._catalog.get_children(tenant_id, [a.id for a in level])
            level = [child for a in level for child in children.get(a.id, [])]
            if not level:
                break
            nodes += [TreeNode(a, d) for a in level]
        return nodes if limit is None else nodes[:limit]

    async def _own_frames(self, asset: Asset) -> set[str]:
        """IDs of the asset's keyframes (a video's FRAME children from its analysis) without versions of
        their own."""
        tenant = asset.tenant_id
        children = (await self._catalog.get_children(tenant, [asset.id])).get(asset.id, [])
        frames = [c.id for c in children if c.is_keyframe]
        below = await self._catalog.get_children(tenant, frames) if frames else {}
        return {f for f in frames if not below.get(f)}

    async def delete(self, tenant_id: str, asset_id: str, *, cascade: bool) -> list[str]:
        """Delete an asset (and, with cascade, its descendants) from catalog, index, faces and blobs. A
        video's keyframes (its FRAME children from its analysis) always go with it."""
        root = await self._get(tenant_id, asset_id)
        frames = await self._own_frames(root)  # neither a version to cascade to, nor counted in MAX_DELETE
        walked = await self.tree(tenant_id, root, MAX_DEPTH, limit=MAX_DELETE + 1 + len(frames))
        doomed = [n.asset for n in walked]
        versions = [a for a in doomed[1:] if a.id not in frames]
        if versions and not cascade:
            raise VersionError(
                "HAS_CHILDREN", f"{asset_id} has {len(versions)} descendant versions: pass cascade: true"
            )
        if len(versions) >= MAX_DELETE:
            raise VersionError("TOO_MANY", f"a cascade deletes at most {MAX_DELETE} assets at once")
        for asset in reversed(doomed):  # leaves first: no child is ever left pointing at nothing
            # The remote face collection first: when it is down, nothing is gone yet and a retry is clean.
            # The catalog (the truth) before blobs only: a failure leaves the asset there to delete again.
            await self._faces.delete_asset(tenant_id, asset.id)
            await self._index.delete(tenant_id, asset.id)
            await self._catalog.delete_asset(tenant_id, asset.id)
            for key in (asset.blob_key, sidecar_key(asset.blob_key), *(r.blob_key for r in asset.renditions)):
                await self._blobs.delete(key)
        deleted = [a.id for a in doomed]
        if self._on_deleted is not None:
            await self._on_deleted(tenant_id, deleted)
        return deleted
