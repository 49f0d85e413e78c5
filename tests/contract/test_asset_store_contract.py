"""AssetStore contract: assets, versions, stages, renditions and perceptual hashes, on every catalog adapter
(SQLite, DynamoDB Local)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import (
    Findings,
    Label,
    RecognitionResult,
    Rendition,
    Stage,
    VersionRelation,
)
from catalog.domain.ports import CatalogStore
from catalog.dynamodb.catalog import DynamoCatalog
from tests.contract.catalogs import T0, backend, catalog, new_asset, tenants
from tests.contract.dynamodb_server import fresh_table

__all__ = ["backend", "catalog"]


async def test_every_name_an_asset_was_ingested_under_is_kept(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    asset, _ = await catalog.register_asset(new_asset(a, "n" * 64, filename="beach.jpg"))
    assert await catalog.add_filename(a, asset.id, "copy of beach.jpg")
    assert not await catalog.add_filename(a, asset.id, "copy of beach.jpg")  # known already
    assert not await catalog.add_filename(a, asset.id, "beach.jpg")  # its first name
    assert await catalog.add_filename(a, asset.id, "IMG_0042.JPG")
    assert not await catalog.add_filename(b, asset.id, "other tenant.jpg")  # tenant-scoped
    assert not await catalog.add_filename(a, uuid7(), "no such asset.jpg")
    found = await catalog.get_asset(a, asset.id)
    assert found is not None
    assert found.filenames == ("beach.jpg", "copy of beach.jpg", "IMG_0042.JPG")
    assert (await catalog.get_assets(a, [asset.id]))[asset.id].other_filenames == found.other_filenames


async def test_a_training_example_keeps_its_flag_until_it_joins_the_archive(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    example, _ = await catalog.register_asset(new_asset(a, "e" * 64, training_example=True))
    archived, _ = await catalog.register_asset(new_asset(a, "f" * 64))
    assert example.training_example and not archived.training_example
    assert (await catalog.get_asset(a, example.id)) == example
    assert (await catalog.find_asset_by_sha256(a, "e" * 64)) == example
    listed = {x.id: x.training_example for x in await catalog.list_assets(a, after=None, limit=10)}
    assert listed == {example.id: True, archived.id: False}
    assert not await catalog.join_archive(b, example.id)  # tenant-scoped
    assert not await catalog.join_archive(a, archived.id)  # not a training example
    assert await catalog.join_archive(a, example.id)
    assert not await catalog.join_archive(a, example.id)  # once
    found = await catalog.get_asset(a, example.id)
    assert found is not None and not found.training_example


async def test_register_asset_dedupes_per_tenant(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    parent = new_asset(a, "p" * 64)
    assert await catalog.register_asset(parent) == (parent, True)
    first = new_asset(
        a,
        "1" * 64,
        orientation=6,
        captured_at=T0 - timedelta(days=400),
        parent_id=parent.id,
        relation=VersionRelation.CROP,
        renditions=(Rendition("thumbnail", "t/1.jpg", 256, 192),),
    )
    assert await catalog.register_asset(first) == (first, True)
    assert await catalog.register_asset(new_asset(a, "1" * 64, filename="copy.jpg")) == (first, False)
    assert await catalog.get_asset(a, first.id) == first
    assert await catalog.find_asset_by_sha256(a, "1" * 64) == first
    assert await catalog.find_asset_by_sha256(a, "2" * 64) is None

    other, created = await catalog.register_asset(new_asset(b, "1" * 64))  # same bytes, another tenant
    assert created and other.id != first.id


async def test_a_capture_time_keeps_the_offset_it_was_recorded_with(catalog: CatalogStore) -> None:
    """A camera's 10:00 at +02:00 (EXIF OffsetTimeOriginal) reads back as 10:00+02:00, the same instant;
    a time recorded without one reads back in UTC."""
    [tenant] = await tenants(catalog, "acme")
    paris = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    newfoundland = datetime(1969, 7, 16, 9, 32, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
    for sha, taken in (("o" * 64, paris), ("n" * 64, newfoundland), ("u" * 64, T0)):
        asset, _ = await catalog.register_asset(new_asset(tenant, sha, captured_at=taken))
        found = await catalog.get_asset(tenant, asset.id)
        assert found is not None and found.captured_at == taken
        assert found.captured_at.isoformat() == taken.isoformat()


async def test_concurrent_registrations_of_the_same_bytes_make_one_asset(catalog: CatalogStore) -> None:
    [tenant] = await tenants(catalog, "acme")
    outcomes = await asyncio.gather(*(catalog.register_asset(new_asset(tenant, "c" * 64)) for _ in range(5)))
    assert sum(created for _, created in outcomes) == 1
    assert len({asset.id for asset, _ in outcomes}) == 1
    assert len(await catalog.list_assets(tenant, after=None, limit=10)) == 1


async def test_every_read_is_tenant_scoped(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    asset, _ = await catalog.register_asset(new_asset(a, "s" * 64))
    await catalog.save_result(
        a, RecognitionResult(asset.id, "labels", "m", "1", Findings((Label("Cat", 90),)), id=uuid7())
    )

    assert await catalog.get_asset(b, asset.id) is None
    assert await catalog.get_assets(b, [asset.id]) == {}
    assert await catalog.find_asset_by_sha256(b, asset.sha256) is None
    assert await catalog.list_assets(b, after=None, limit=10) == []
    assert await catalog.get_results(b, [asset.id]) == {}
    assert await catalog.get_result(b, asset.id, "labels") is None
    assert await catalog.get_labels(b, [asset.id]) == {}
    assert await catalog.stages_of(b, [asset.id]) == {}
    await catalog.set_stage(b, asset.id, Stage.FAILED, "not yours")
    await catalog.set_renditions(b, asset.id, [Rendition("preview", "x", 1, 1)])
    await catalog.set_renditions(b, asset.id, [], phash="00000000000000ff", stage=Stage.RENDITIONS)
    assert await catalog.get_asset(a, asset.id) == asset
    assert await catalog.similar_assets(b, "00000000000000ff", max_distance=0, limit=5) == []
    assert await catalog.get_asset(b, asset.id) is None  # and no stray item was made for b


async def test_list_assets_pages_in_id_order(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    ids: dict[str, list[str]] = {a: [], b: []}
    for i in range(7):
        owner = a if i % 3 else b
        ids[owner].append((await catalog.register_asset(new_asset(owner, f"{i:064d}")))[0].id)

    async def walk(tenant: str | None, limit: int) -> list[list[str]]:
        pages, after = [], None
        while page := await catalog.list_assets(tenant, after=after, limit=limit):
            pages.append([x.id for x in page])
            after = page[-1].id
        return pages

    assert await walk(a, 2) == [ids[a][:2], ids[a][2:4]]
    assert await walk(b, 5) == [ids[b]]
    everyone = await walk(None, 3)
    assert [len(p) for p in everyone] == [3, 3, 1]
    assert [x for page in everyone for x in page] == sorted(ids[a] + ids[b])
    assert await catalog.list_assets(a, after=ids[a][-1], limit=5) == []


async def test_unfinished_assets_across_tenants(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    assets = [(await catalog.register_asset(new_asset(t, f"{i:064d}")))[0] for i, t in enumerate([a, b] * 3)]
    await catalog.set_stage(a, assets[0].id, Stage.INDEXED)
    await catalog.set_stage(b, assets[3].id, Stage.FAILED, "broken")
    await catalog.set_stage(a, assets[4].id, Stage.ANALYZED)
    expected = [assets[i].id for i in (1, 2, 4, 5)]

    first = await catalog.unfinished_assets(after=None, limit=2)
    rest = await catalog.unfinished_assets(after=first[-1].id, limit=10)
    assert [x.id for x in first + rest] == expected
    assert rest[0].status == Stage.ANALYZED

    await catalog.set_stage(b, assets[3].id, Stage.STORED)  # retried: unfinished again
    assert [x.id for x in await catalog.unfinished_assets(after=None, limit=10)] == sorted(
        [*expected, assets[3].id]
    )


async def test_set_stage_and_renditions(catalog: CatalogStore) -> None:
    [tenant] = await tenants(catalog, "acme")
    asset, _ = await catalog.register_asset(new_asset(tenant, "r" * 64))
    await catalog.set_stage(tenant, asset.id, Stage.FAILED, "decoder said no")
    failed = await catalog.get_asset(tenant, asset.id)
    assert failed is not None and (failed.status, failed.error) == (Stage.FAILED, "decoder said no")
    assert failed.updated_at > asset.updated_at

    renditions = [
        Rendition("thumbnail", "t.jpg", 256, 192),
        Rendition("preview", "p.webp", 1024, 768, "image/webp"),
    ]
    await catalog.set_renditions(tenant, asset.id, renditions)
    await catalog.set_stage(tenant, asset.id, Stage.RENDITIONS)
    stored = await catalog.get_asset(tenant, asset.id)
    assert stored is not None
    assert (stored.status, stored.error, stored.renditions) == (Stage.RENDITIONS, None, tuple(renditions))
    assert await catalog.get_assets(tenant, [asset.id, asset.id, uuid7()]) == {asset.id: stored}


async def test_renditions_hash_and_stage_in_one_write(catalog: CatalogStore) -> None:
    [tenant] = await tenants(catalog, "acme")
    asset, _ = await catalog.register_asset(new_asset(tenant, "h" * 64))
    await catalog.set_stage(tenant, asset.id, Stage.STORED, "a failed attempt")  # cleared by the write
    renditions = [Rendition("preview", "p.jpg", 1000, 750), Rendition("thumbnail", "t.jpg", 256, 192)]
    await catalog.set_renditions(
        tenant, asset.id, renditions, phash="0f0f0f0f0f0f0f0f", stage=Stage.RENDITIONS
    )
    stored = await catalog.get_asset(tenant, asset.id)
    assert stored is not None
    assert (stored.status, stored.error, stored.renditions, stored.phash) == (
        Stage.RENDITIONS,
        None,
        tuple(renditions),
        "0f0f0f0f0f0f0f0f",
    )
    assert stored.updated_at > asset.updated_at
    assert await catalog.similar_assets(tenant, "0f0f0f0f0f0f0f0e", max_distance=1, limit=5) == [
        (asset.id, 1)
    ]
    assert await catalog.stages_of(tenant, [asset.id]) == {asset.id: Stage.RENDITIONS}
    assert await catalog.assets_in_stages(tenant, [Stage.RENDITIONS], after=None, limit=5) == [stored]


async def test_stages_of(catalog: CatalogStore) -> None:
    [tenant] = await tenants(catalog, "acme")
    ids = [(await catalog.register_asset(new_asset(tenant, f"{i:064d}")))[0].id for i in range(4)]
    await catalog.set_stage(tenant, ids[0], Stage.INDEXED)
    await catalog.set_stage(tenant, ids[1], Stage.INDEXED)
    await catalog.set_stage(tenant, ids[2], Stage.FAILED, "x")
    unknown = [uuid7() for _ in range(250)]  # more keys than one BatchGetItem takes
    assert await catalog.stages_of(tenant, [*unknown[:120], *ids, ids[0], *unknown[120:]]) == {
        ids[0]: Stage.INDEXED,
        ids[1]: Stage.INDEXED,
        ids[2]: Stage.FAILED,
        ids[3]: Stage.STORED,
    }
    assert await catalog.stages_of(tenant, []) == {}
    assert set(await catalog.get_assets(tenant, [*unknown, *ids])) == set(ids)
    assert await catalog.get_assets(tenant, []) == {}


async def test_version_tree(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    root, _ = await catalog.register_asset(new_asset(a, "0" * 64))
    crop, _ = await catalog.register_asset(
        new_asset(a, "1" * 64, parent_id=root.id, relation=VersionRelation.CROP)
    )
    edit, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    foreign, _ = await catalog.register_asset(new_asset(b, "3" * 64))
    await catalog.set_parent(a, edit.id, root.id, VersionRelation.EDIT)
    await catalog.set_parent(a, edit.id, root.id, VersionRelation.EDIT)  # idempotent
    tree = await catalog.get_children(a, [root.id, crop.id, root.id])
    assert {p: [(c.id, c.relation) for c in kids] for p, kids in tree.items()} == {
        root.id: [(crop.id, VersionRelation.CROP), (edit.id, VersionRelation.EDIT)],
        crop.id: [],
    }
    assert (await catalog.get_children(b, [root.id]))[root.id] == []

    await catalog.set_parent(a, edit.id, crop.id, VersionRelation.RESIZE)  # moved
    await catalog.set_parent(a, crop.id, foreign.id, VersionRelation.OTHER)  # another tenant's: refused
    await catalog.set_parent(b, crop.id, foreign.id, VersionRelation.OTHER)  # not b's asset: nothing
    tree = await catalog.get_children(a, [root.id, crop.id])
    assert [c.id for c in tree[root.id]] == [crop.id] and [c.id for c in tree[crop.id]] == [edit.id]
    assert tree[crop.id][0].relation == VersionRelation.RESIZE and tree[root.id][0].parent_id == root.id

    await catalog.set_parent(a, edit.id, None, None)  # unlinked
    unlinked = await catalog.get_asset(a, edit.id)
    assert unlinked is not None and (unlinked.parent_id, unlinked.relation) == (None, None)
    assert (await catalog.get_children(a, [crop.id]))[crop.id] == []


async def test_a_videos_keyframe_is_a_frame_child_with_its_time(catalog: CatalogStore) -> None:
    (a,) = await tenants(catalog, "a")
    video, _ = await catalog.register_asset(new_asset(a, "0" * 64, media_type="video/mp4"))
    frame = new_asset(
        a,
        "1" * 64,
        parent_id=video.id,
        relation=VersionRelation.FRAME,
        frame_time=12.48,
        status=Stage.INDEXED,
    )
    assert await catalog.register_asset(frame) == (frame, True)
    assert await catalog.get_asset(a, frame.id) == frame and frame.is_keyframe
    assert (await catalog.get_children(a, [video.id]))[video.id] == [frame]
    assert [x.frame_time for x in await catalog.list_assets(a, after=None, limit=10)] == [None, 12.48]
    assert (await catalog.find_asset_by_sha256(a, "1" * 64)) == frame


async def test_a_videos_keyframes_are_neither_listed_nor_counted_by_stage(catalog: CatalogStore) -> None:
    """What an archivist lists and counts are the archive's assets: a video's keyframes belong to it."""
    (a,) = await tenants(catalog, "a")
    video, _ = await catalog.register_asset(new_asset(a, "0" * 64, media_type="video/mp4"))
    frames = [
        (await catalog.register_asset(new_asset(
            a, f"{i:064d}", parent_id=video.id, relation=VersionRelation.FRAME, frame_time=float(i),
            status=Stage.INDEXED,
        )))[0]
        for i in range(1, 4)
    ]  # fmt: skip
    photo, _ = await catalog.register_asset(new_asset(a, "f" * 64))
    broken, _ = await catalog.register_asset(new_asset(a, "e" * 64))
    await catalog.set_stage(a, broken.id, Stage.FAILED, "broken")
    assert await catalog.stage_counts(a) == {Stage.STORED: 2, Stage.FAILED: 1}
    for asset_id in (video.id, photo.id):
        await catalog.set_stage(a, asset_id, Stage.INDEXED)
    listed = await catalog.assets_in_stages(a, [Stage.INDEXED, Stage.FAILED], after=None, limit=10)
    assert [x.id for x in listed] == [broken.id, photo.id, video.id]
    paged = await catalog.assets_in_stages(a, [Stage.INDEXED], after=photo.id, limit=1)
    assert [x.id for x in paged] == [video.id]
    assert await catalog.stage_counts(a) == {Stage.INDEXED: 2, Stage.FAILED: 1}
    await catalog.delete_asset(a, frames[0].id)  # a stale keyframe goes: the counts stay
    assert await catalog.stage_counts(a) == {Stage.INDEXED: 2, Stage.FAILED: 1}
    await catalog.delete_asset(a, photo.id)
    assert await catalog.stage_counts(a) == {Stage.INDEXED: 1, Stage.FAILED: 1}
    # the operator's walk over every asset still sees them (verify, reindex)
    walked = await catalog.list_assets(a, after=None, limit=10)
    assert {x.id for x in walked} == {video.id, broken.id, *(f.id for f in frames[1:])}


async def test_delete_asset(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    root, _ = await catalog.register_asset(new_asset(a, "0" * 64))
    child, _ = await catalog.register_asset(
        new_asset(a, "1" * 64, parent_id=root.id, relation=VersionRelation.CROP)
    )
    await catalog.save_result(
        a, RecognitionResult(child.id, "labels", "m", "1", Findings((Label("Cat", 90),)), id=uuid7())
    )
    await catalog.delete_asset(b, child.id)  # not b's: nothing happens
    assert await catalog.get_asset(a, child.id) == child

    await catalog.delete_asset(a, child.id)
    assert await catalog.get_asset(a, child.id) is None
    assert await catalog.get_result(a, child.id, "labels") is None
    assert await catalog.get_results(a, [child.id]) == {}
    assert (await catalog.get_children(a, [root.id]))[root.id] == []
    assert [x.id for x in await catalog.list_assets(a, after=None, limit=10)] == [root.id]
    again, created = await catalog.register_asset(new_asset(a, "1" * 64))  # the same bytes may come back
    assert created and again.id != child.id
    assert await catalog.find_asset_by_sha256(a, "1" * 64) == again
    await catalog.delete_asset(a, child.id)  # deleting twice is fine


async def test_perceptual_hashes(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    ids = [(await catalog.register_asset(new_asset(a, f"{i:064d}")))[0].id for i in range(4)]
    for asset_id, phash in zip(
        ids, ["00000000000000ff", "0000000000000001", "ffffffffffffffff"], strict=False
    ):
        await catalog.set_phash(a, asset_id, phash)
    await catalog.set_phash(b, ids[3], "0000000000000000")  # not b's asset: nothing
    stored = await catalog.get_asset(a, ids[1])
    assert stored is not None and stored.phash == "0000000000000001"

    assert await catalog.similar_assets(a, "0000000000000000", max_distance=10, limit=5) == [
        (ids[1], 1),
        (ids[0], 8),
    ]
    assert await catalog.similar_assets(a, "0000000000000000", max_distance=10, limit=1) == [(ids[1], 1)]
    assert await catalog.similar_assets(b, "0000000000000000", max_distance=64, limit=5) == []
    await catalog.delete_asset(a, ids[1])
    assert await catalog.similar_assets(a, "0000000000000000", max_distance=10, limit=5) == [(ids[0], 8)]


@pytest.fixture
def ddb_client(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("dynamodb_client")


@pytest.mark.dynamodb
async def test_dynamodb_ensure_table_is_idempotent(ddb_client: Any) -> None:
    """`mediasight init` may run twice, or on two machines at once."""
    client = ddb_client
    async with fresh_table(client) as table:
        store = DynamoCatalog(client, table)
        assert list(await asyncio.gather(store.ensure_table(), store.ensure_table())) == [False, False]
    table = f"mediasight-test-{uuid7()}"
    try:
        created = await asyncio.gather(*(DynamoCatalog(client, table).ensure_table() for _ in range(2)))
        assert sorted(created) == [False, True]
        description = (await client.describe_table(TableName=table))["Table"]
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert {i["IndexName"] for i in description["GlobalSecondaryIndexes"]} == {
            "unfinished",
            "assets",
            "stages",
        }
    finally:
        await client.delete_table(TableName=table)


async def test_assets_in_stages_newest_first_and_stage_counts(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    ids = [(await catalog.register_asset(new_asset(a, f"{i:064d}")))[0].id for i in range(5)]
    await catalog.register_asset(new_asset(b, "f" * 64))
    for asset_id in ids[:3]:
        await catalog.set_stage(a, asset_id, Stage.FAILED, "broken")
    await catalog.set_stage(a, ids[3], Stage.INDEXED)
    failed = await catalog.assets_in_stages(a, [Stage.FAILED], after=None, limit=2)
    assert [x.id for x in failed] == [ids[2], ids[1]] and failed[0].error == "broken"
    rest = await catalog.assets_in_stages(a, [Stage.FAILED], after=failed[-1].id, limit=5)
    assert [x.id for x in rest] == [ids[0]]
    both = await catalog.assets_in_stages(a, [Stage.FAILED, Stage.STORED], after=None, limit=10)
    assert [x.id for x in both] == [ids[4], ids[2], ids[1], ids[0]]
    assert await catalog.assets_in_stages(b, [Stage.FAILED], after=None, limit=10) == []
    assert await catalog.stage_counts(a) == {Stage.FAILED: 3, Stage.INDEXED: 1, Stage.STORED: 1}
    assert await catalog.stage_counts(b) == {Stage.STORED: 1}
