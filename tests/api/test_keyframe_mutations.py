"""A video's keyframe (a FRAME child its analysis registered) through the write mutations: it takes no
uploaded versions, is not moved in the tree, and is not reprocessed alone; each says so with a typed error
naming the video, and nothing is written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import UploadFile

from api.context import Context
from api.schema import schema
from catalog.domain.model import Asset, VersionRelation
from indexer.video.video_frames import VideoFrames
from indexer.video.video_work import Keyframe
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant

UPLOAD = """mutation ($file: Upload!, $parent: ID) {
  ingestAsset(file: $file, parentId: $parent, relation: EDIT) {
    asset { id parentId } error { code message } } }"""
LINK = """mutation ($a: ID!, $p: ID!) { createVersion(assetId: $a, parentId: $p, relation: EDIT) {
  asset { id } error { code message } } }"""
REPROCESS = """mutation ($ids: [ID!]) { reprocess(assetIds: $ids, analyzers: ["labels"]) {
  batch { id total } error { code message } } }"""


async def gql(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None and result.data is not None, result.errors
    return result.data


def photo(name: str, color: tuple[int, int, int]) -> UploadFile:
    return UploadFile(io.BytesIO(jpeg_bytes(color, (80, 60))), filename=name)


@pytest.fixture
async def keyframe(services: Services, tmp_path: Path) -> Asset:
    """A keyframe registered under an asset as a video's analysis registers it (VideoFrames)."""
    tenant, _ = await make_tenant(services, "acme")
    video = await services.ingestor.ingest(tenant, jpeg_bytes((10, 200, 10)), "interview.mp4")
    assert video.asset is not None
    still = tmp_path / "still.jpg"
    still.write_bytes(jpeg_bytes((40, 40, 40), (64, 36)))
    frames = VideoFrames(services.catalog, services.blobs, services.cpu)
    (frame,) = await frames.store(video.asset, [Keyframe(0, 0.4, still)])
    return frame


async def test_a_keyframe_takes_no_uploaded_version(services: Services, keyframe: Asset) -> None:
    tenant, video = keyframe.tenant_id, keyframe.parent_id
    refused = await gql(services, tenant, UPLOAD, file=photo("edit.jpg", (200, 9, 9)), parent=keyframe.id)
    assert refused["ingestAsset"]["asset"] is None
    error = refused["ingestAsset"]["error"]
    assert error["code"] == "KEYFRAME_PARENT"
    assert f"{keyframe.id} is a keyframe of the video {video}" in error["message"]
    assert "add versions to the video" in error["message"]
    assert await services.catalog.get_children(tenant, [keyframe.id]) == {keyframe.id: []}
    assert sum((await services.catalog.stage_counts(tenant)).values()) == 1  # the video only: nothing stored

    # the same file as a version of the video is taken
    taken = await gql(services, tenant, UPLOAD, file=photo("edit.jpg", (200, 9, 9)), parent=video)
    assert taken["ingestAsset"]["error"] is None and taken["ingestAsset"]["asset"]["parentId"] == video
    absent = keyframe.id[:-1] + ("1" if keyframe.id.endswith("0") else "0")  # an ID no asset has
    missing = await gql(services, tenant, UPLOAD, file=photo("x.jpg", (1, 2, 3)), parent=absent)
    assert missing["ingestAsset"]["error"]["code"] == "INVALID_PARENT"  # unchanged for a missing parent


async def test_a_keyframe_neither_takes_nor_becomes_a_linked_version(
    services: Services, keyframe: Asset
) -> None:
    tenant = keyframe.tenant_id
    other = await services.ingestor.ingest(tenant, jpeg_bytes((9, 9, 200)), "poster.jpg")
    assert other.asset is not None
    under = (await gql(services, tenant, LINK, a=other.asset.id, p=keyframe.id))["createVersion"]
    assert under["asset"] is None and under["error"]["code"] == "KEYFRAME"
    assert "add versions to the video instead" in under["error"]["message"]
    moved = (await gql(services, tenant, LINK, a=keyframe.id, p=other.asset.id))["createVersion"]
    assert moved["asset"] is None and moved["error"]["code"] == "KEYFRAME"
    assert (
        f"keyframe of the video {keyframe.parent_id}: it stays in the video's tree"
        in moved["error"]["message"]
    )
    after = await services.catalog.get_asset(tenant, keyframe.id)
    assert (
        after is not None
        and after.parent_id == keyframe.parent_id
        and after.relation is VersionRelation.FRAME
    )
    unmoved = await services.catalog.get_asset(tenant, other.asset.id)
    assert unmoved is not None and unmoved.parent_id is None


async def test_a_keyframe_is_not_reprocessed_alone(services: Services, keyframe: Asset) -> None:
    tenant, video = keyframe.tenant_id, keyframe.parent_id
    assert video is not None
    refused = (await gql(services, tenant, REPROCESS, ids=[video, keyframe.id]))["reprocess"]
    assert refused["batch"] is None and refused["error"]["code"] == "KEYFRAME"
    message = refused["error"]["message"]
    assert f"{keyframe.id} is a keyframe of the video {video}" in message and "reprocess the video" in message
    assert await services.catalog.list_batches(tenant, limit=5) == []  # nothing started
    started = (await gql(services, tenant, REPROCESS, ids=[video]))["reprocess"]
    assert started["error"] is None and started["batch"]["total"] == 1


async def test_every_ingest_path_refuses_a_keyframe_parent(
    services: Services, keyframe: Asset, tmp_path: Path
) -> None:
    """Not only GraphQL: the Ingestor itself (the CLI's `ingest --parent`, uploads) refuses a keyframe as
    the parent, with the code and message GraphQL gives, and stores nothing."""
    tenant, video = keyframe.tenant_id, keyframe.parent_id
    path = tmp_path / "edit.jpg"
    path.write_bytes(jpeg_bytes((200, 9, 9), (80, 60)))
    for outcome in (
        await services.ingestor.ingest_file(tenant, path, "edit.jpg", parent_id=keyframe.id),
        await services.ingestor.ingest(tenant, path.read_bytes(), "edit.jpg", parent_id=keyframe.id),
    ):
        assert outcome.status == "rejected" and outcome.code == "keyframe_parent"
        assert outcome.error is not None and f"keyframe of the video {video}" in outcome.error
    assert sum((await services.catalog.stage_counts(tenant)).values()) == 1  # the video only
