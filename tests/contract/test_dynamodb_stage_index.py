"""The DynamoDB `stages` index and asset count: exact against SQLite, and an older table upgraded in place
(the stage index; keyframes an earlier release counted as assets)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import Stage, VersionRelation
from catalog.domain.ports import CatalogStore
from catalog.dynamodb.asset_items import count_keys, count_update
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.dynamodb.keys import key, tenant_pk
from catalog.dynamodb.schema import INDEX_STAGES
from catalog.dynamodb.table import (
    KEYFRAMES_UPGRADE,
    STAGE_INDEX_UPGRADE,
    UPGRADES_KEY,
    table_definition,
    upgrades,
)
from catalog.dynamodb.values import s
from catalog.sqlite.catalog import SCHEMA, SqliteCatalog
from catalog.sqlite.db import SqliteDb
from tests.contract.catalogs import new_asset
from tests.contract.dynamodb_server import fresh_table

pytestmark = pytest.mark.dynamodb


@pytest.fixture
def ddb_client(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("dynamodb_client")


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqliteCatalog]:
    db = SqliteDb(tmp_path / "catalog.db", SCHEMA)
    yield SqliteCatalog(db)
    db.close()


@pytest.fixture
async def old_table(ddb_client: Any) -> AsyncIterator[str]:
    """A table as the release before the `stages` index made it (no index, no upgrade record)."""
    table = f"mediasight-test-{uuid.uuid4().hex[:12]}"
    definition = table_definition(table)
    definition["GlobalSecondaryIndexes"] = [
        i for i in definition["GlobalSecondaryIndexes"] if i["IndexName"] != INDEX_STAGES
    ]
    definition["AttributeDefinitions"] = [
        a for a in definition["AttributeDefinitions"] if a["AttributeName"] != "stage_key"
    ]
    await ddb_client.create_table(**definition)
    await ddb_client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    try:
        yield table
    finally:
        await ddb_client.delete_table(TableName=table)


async def listing(catalog: CatalogStore, tenant: str, stages: list[Stage], page: int) -> list[str]:
    """Every asset in `stages`, paged through `page` at a time."""
    out: list[str] = []
    after = None
    while found := await catalog.assets_in_stages(tenant, stages, after=after, limit=page):
        out += [a.id for a in found]
        after = found[-1].id
    return out


async def assert_same(dynamo: CatalogStore, sqlite: CatalogStore, tenants: dict[str, str]) -> None:
    for d_tenant, s_tenant in tenants.items():
        assert await dynamo.stage_counts(d_tenant) == await sqlite.stage_counts(s_tenant)
        for stages in ([Stage.FAILED], [Stage.STORED, Stage.ANALYZED], [Stage.INDEXED, Stage.FAILED]):
            for page in (1, 3, 50):
                d_ids = await listing(dynamo, d_tenant, stages, page)
                s_ids = await listing(sqlite, s_tenant, stages, page)
                assert d_ids == s_ids


async def test_stage_counts_and_listings_match_sqlite(ddb_client: Any, sqlite: SqliteCatalog) -> None:
    rng = random.Random(7)
    async with fresh_table(ddb_client) as table:
        dynamo = DynamoCatalog(ddb_client, table)
        tenants: dict[str, str] = {}
        assets: list[tuple[str, str]] = []  # (dynamo tenant, asset id); the same IDs in SQLite
        for name in ("a", "b"):
            d, sq = (await dynamo.create_tenant(name)).id, (await sqlite.create_tenant(name)).id
            tenants[d] = sq
            for i in range(12):
                asset = new_asset(d, f"{name}{i:063d}", id=uuid7())
                await dynamo.register_asset(asset)
                await sqlite.register_asset(new_asset(sq, asset.sha256, id=asset.id))
                assets.append((d, asset.id))
            # a video (left as it is) and its keyframes, which neither catalog lists or counts
            video = new_asset(d, f"{name}v{0:062d}", id=uuid7(), media_type="video/mp4")
            await dynamo.register_asset(video)
            await sqlite.register_asset(new_asset(sq, video.sha256, id=video.id, media_type="video/mp4"))
            for i in range(3):
                frame = {"relation": VersionRelation.FRAME, "frame_time": float(i), "status": Stage.INDEXED}
                sha, frame_id = f"{name}f{i:062d}", uuid7()
                await dynamo.register_asset(new_asset(d, sha, id=frame_id, parent_id=video.id, **frame))
                await sqlite.register_asset(new_asset(sq, sha, id=frame_id, parent_id=video.id, **frame))
        await assert_same(dynamo, sqlite, tenants)
        for _ in range(3):
            for d, asset_id in rng.sample(assets, 10):
                stage = rng.choice(list(Stage))
                await dynamo.set_stage(d, asset_id, stage, "broken" if stage == Stage.FAILED else None)
                await sqlite.set_stage(
                    tenants[d], asset_id, stage, "broken" if stage == Stage.FAILED else None
                )
            for d, asset_id in rng.sample(assets, 2):
                assets.remove((d, asset_id))
                await dynamo.delete_asset(d, asset_id)
                await dynamo.delete_asset(d, asset_id)  # again: nothing left to count twice
                await sqlite.delete_asset(tenants[d], asset_id)
            await assert_same(dynamo, sqlite, tenants)


async def test_ensure_table_upgrades_an_older_table(ddb_client: Any, old_table: str) -> None:
    catalog = DynamoCatalog(ddb_client, old_table)
    a, b = [(await catalog.create_tenant(n)).id for n in ("a", "b")]
    ids = [(await catalog.register_asset(new_asset(a, f"{i:064d}")))[0].id for i in range(6)]
    other = (await catalog.register_asset(new_asset(b, "f" * 64)))[0].id
    keyframe = {"relation": VersionRelation.FRAME, "frame_time": 2.0, "status": Stage.INDEXED}
    await catalog.register_asset(new_asset(a, "e" * 64, parent_id=ids[4], **keyframe))  # never counted
    for asset_id in ids[:3]:
        await catalog.set_stage(a, asset_id, Stage.FAILED, "broken")
    for asset_id in ids[3:5]:
        await catalog.set_stage(a, asset_id, Stage.INDEXED)
    # what the older release wrote: no stage marks, no `counted`, no count items
    for tenant, asset_id in [*((a, i) for i in ids), (b, other)]:
        await ddb_client.update_item(
            TableName=old_table,
            Key=key(tenant_pk(tenant), f"ASSET#{asset_id}"),
            UpdateExpression="REMOVE stage_key, counted",
        )
    for tenant in (a, b):
        for count in count_keys(tenant):
            await ddb_client.delete_item(TableName=old_table, Key=count)
    await catalog.delete_asset(a, ids[0])  # an uncounted asset leaves the count alone
    expected_a = {Stage.FAILED: 2, Stage.INDEXED: 2, Stage.STORED: 1}
    # before the upgrade (the index is missing): the same answers, from a walk of the tenant's assets
    before = DynamoCatalog(ddb_client, old_table)
    assert await before.stage_counts(a) == expected_a
    assert await listing(before, a, [Stage.FAILED], 1) == [ids[2], ids[1]]

    # two inits at once: one adds the index, both backfill, no asset is counted twice
    assert await asyncio.gather(catalog.ensure_table(), catalog.ensure_table()) == [False, False]
    description = (await ddb_client.describe_table(TableName=old_table))["Table"]
    indexes = {i["IndexName"]: i["IndexStatus"] for i in description["GlobalSecondaryIndexes"]}
    assert indexes == {"unfinished": "ACTIVE", "assets": "ACTIVE", "stages": "ACTIVE"}
    assert await catalog.stage_counts(a) == expected_a
    assert await catalog.stage_counts(b) == {Stage.STORED: 1}
    assert await listing(catalog, a, [Stage.FAILED], 1) == [ids[2], ids[1]]
    assert await upgrades(ddb_client, old_table) == {STAGE_INDEX_UPGRADE, KEYFRAMES_UPGRADE}

    assert await catalog.ensure_table() is False  # again: nothing counted twice
    assert await catalog.stage_counts(a) == expected_a
    await catalog.delete_asset(a, ids[1])
    await catalog.set_stage(a, ids[5], Stage.INDEXED)
    assert await catalog.stage_counts(a) == {Stage.FAILED: 1, Stage.INDEXED: 3}
    item = await ddb_client.get_item(TableName=old_table, Key=key(tenant_pk(a), f"ASSET#{ids[2]}"))
    assert item["Item"]["stage_key"] == s(f"TENANT#{a}#STAGE#failed")


async def test_init_takes_keyframes_an_earlier_release_counted_out_of_the_count(ddb_client: Any) -> None:
    async with fresh_table(ddb_client) as table:
        assert await upgrades(ddb_client, table) == {STAGE_INDEX_UPGRADE, KEYFRAMES_UPGRADE}  # nothing to do
        catalog = DynamoCatalog(ddb_client, table)
        a, b = [(await catalog.create_tenant(n)).id for n in ("a", "b")]
        photos = [(await catalog.register_asset(new_asset(a, f"{i:064d}")))[0].id for i in range(3)]
        await catalog.set_stage(a, photos[0], Stage.FAILED, "broken")
        await catalog.set_stage(a, photos[1], Stage.INDEXED)
        video = (await catalog.register_asset(new_asset(a, "a" * 64, media_type="video/mp4")))[0].id
        await catalog.set_stage(a, video, Stage.INDEXED)
        other = (await catalog.register_asset(new_asset(b, "b" * 64, media_type="video/mp4")))[0].id
        keyframe = {"relation": VersionRelation.FRAME, "status": Stage.INDEXED}
        frames: list[tuple[str, str]] = []  # (tenant, keyframe id)
        for tenant, parent, sha, t in [
            (a, video, "c", 0.5),
            (a, video, "d", 2.0),
            (a, video, "e", 4.0),
            (b, other, "f", 1.0),
        ]:
            frame = new_asset(tenant, sha * 64, parent_id=parent, frame_time=t, **keyframe)
            frames.append((tenant, (await catalog.register_asset(frame))[0].id))
        expected = {a: {Stage.FAILED: 1, Stage.INDEXED: 2, Stage.STORED: 1}, b: {Stage.STORED: 1}}
        assert {t: await catalog.stage_counts(t) for t in (a, b)} == expected
        # what the releases before keyframes left the count wrote: every keyframe counted, and no upgrade
        for tenant, frame_id in frames:
            mark = {
                "Update": {
                    "TableName": table,
                    "Key": key(tenant_pk(tenant), f"ASSET#{frame_id}"),
                    "UpdateExpression": "SET counted = :yes",
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                }
            }
            await ddb_client.transact_write_items(
                TransactItems=[mark, count_update(table, tenant, frame_id, +1)]
            )
        await ddb_client.update_item(
            TableName=table,
            Key=UPGRADES_KEY,
            UpdateExpression="DELETE done :n",
            ExpressionAttributeValues={":n": {"SS": [KEYFRAMES_UPGRADE]}},
        )
        assert await catalog.stage_counts(a) == {**expected[a], Stage.INDEXED: 5}  # 3 keyframes too many
        assert await catalog.stage_counts(b) == {Stage.STORED: 1, Stage.INDEXED: 1}
        await catalog.delete_asset(a, frames[0][1])  # a counted keyframe's delete takes it out as it was
        assert await catalog.stage_counts(a) == {**expected[a], Stage.INDEXED: 4}

        # two inits at once: each keyframe leaves the count once
        assert await asyncio.gather(catalog.ensure_table(), catalog.ensure_table()) == [False, False]
        assert {t: await catalog.stage_counts(t) for t in (a, b)} == expected
        assert await upgrades(ddb_client, table) == {STAGE_INDEX_UPGRADE, KEYFRAMES_UPGRADE}
        item = await ddb_client.get_item(TableName=table, Key=key(tenant_pk(a), f"ASSET#{frames[1][1]}"))
        assert "counted" not in item["Item"]
        assert await catalog.ensure_table() is False  # again: nothing taken out twice
        await catalog.delete_asset(a, frames[1][1])  # an uncounted keyframe's delete leaves the count alone
        await catalog.delete_asset(a, photos[2])
        assert await catalog.stage_counts(a) == {Stage.FAILED: 1, Stage.INDEXED: 2}
        assert await catalog.stage_counts(b) == expected[b]
