"""Creating the shared DynamoDB table, and upgrading a table an older release made (`mediasight init`).

Safe to run again, and on several machines at once. An existing table is brought up to date in place:
1. every index this code reads that the table lacks is added with UpdateTable (GlobalSecondaryIndexUpdates
   Create, one index per call as DynamoDB allows, with the AttributeDefinitions of its keys), and waited
   on until the table and each index are ACTIVE (DynamoDB fills a new index from the items that carry its
   key attribute, which can take a while on a large table);
2. item backfills that the new indexes need run once each, recorded in the item TABLE / UPGRADES:
   `stage-index` gives every asset made before the `stages` index its stage mark (stage_key) and its
   place in the tenant's asset count (the `counted` mark and the count shards). Each asset is one
   transaction conditional on its status and on not being counted yet, so the backfill can be
   interrupted, repeated, or run while this release's workers change stages and delete assets;
   `keyframes-uncounted` takes out of the count the video keyframes that the releases before keyframes
   left the count (asset_items.counted) registered as counted: INDEXED read high by that many. Each is
   one transaction conditional on its `counted` mark, which it removes (a concurrent delete or init
   finds it uncounted and leaves the count alone).
Deploy the new code everywhere before running init: older processes do not write the marks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from botocore.exceptions import ClientError

from catalog.domain.model import Stage
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import COUNTED, FRAME_TIME, asset_key, count_update, stage_clauses
from catalog.dynamodb.base import set_remove
from catalog.dynamodb.requests import (
    ATTEMPTS,
    ConditionFailed,
    backoff,
    batch_get,
    bounded,
    error_code,
    query_pages,
    transact,
)
from catalog.dynamodb.schema import ALL_SHARDS, INDEX_ASSETS, INDEX_STAGES, INDEX_UNFINISHED
from catalog.dynamodb.values import Item, s

log = logging.getLogger(__name__)

INDEX_KEYS = {  # index name → hash key; every index ranges over `id` and projects keys only
    INDEX_UNFINISHED: "pending",
    INDEX_ASSETS: "shard",
    INDEX_STAGES: "stage_key",
}
UPGRADES_KEY = ddb.key("TABLE", "UPGRADES")
STAGE_INDEX_UPGRADE = "stage-index"
KEYFRAMES_UPGRADE = "keyframes-uncounted"
POLL_SECONDS = 1.0
_BUSY = {"ResourceInUseException", "LimitExceededException"}  # another table update is under way


def _attributes(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": a, "AttributeType": "S"} for a in names]


def _gsi(name: str, hash_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable arguments: on-demand capacity, string keys, every index."""
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": _attributes("PK", "SK", "id", *INDEX_KEYS.values()),
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [_gsi(name, hash_key) for name, hash_key in INDEX_KEYS.items()],
    }


async def ensure_table(client: Any, table: str) -> bool:
    """Create the table and its indexes unless it exists, else upgrade it; True when created."""
    try:
        await client.describe_table(TableName=table)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    else:
        await upgrade_table(client, table)
        return False
    try:
        await client.create_table(**table_definition(table))
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":  # someone else is creating it right now
            raise
        await upgrade_table(client, table)  # waits for it; its backfills find nothing to do
        return False
    waiter = client.get_waiter("table_exists")
    await waiter.wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    for name in (STAGE_INDEX_UPGRADE, KEYFRAMES_UPGRADE):  # a new table has nothing to backfill
        await _record_upgrade(client, table, name)
    return True


async def upgrade_table(client: Any, table: str) -> None:
    """Add the indexes the table lacks, wait until they are ACTIVE, run the item backfills not yet run."""
    for name, hash_key in INDEX_KEYS.items():
        await _add_index(client, table, name, hash_key)
    await _wait_until_active(client, table)
    done = await upgrades(client, table)
    if STAGE_INDEX_UPGRADE not in done:
        await _backfill_stage_index(client, table)
        await _record_upgrade(client, table, STAGE_INDEX_UPGRADE)
    if KEYFRAMES_UPGRADE not in done:
        await _uncount_keyframes(client, table)
        await _record_upgrade(client, table, KEYFRAMES_UPGRADE)


async def _add_index(client: Any, table: str, name: str, hash_key: str) -> None:
    while True:
        description = await _wait_until_active(client, table)  # one table update at a time
        if name in {i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])}:
            return
        log.info("adding the index %r to the DynamoDB table %r", name, table)
        try:
            await client.update_table(
                TableName=table,
                AttributeDefinitions=_attributes(hash_key, "id"),
                GlobalSecondaryIndexUpdates=[{"Create": _gsi(name, hash_key)}],
            )
            return
        except ClientError as exc:
            if error_code(exc) not in _BUSY:
                described = (await client.describe_table(TableName=table))["Table"]
                if name not in {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}:
                    raise
                return  # a concurrent init added it a moment ago
        await asyncio.sleep(POLL_SECONDS)


async def _wait_until_active(client: Any, table: str) -> dict[str, Any]:
    """The table's description once it and every index are ACTIVE."""
    polls = 0
    while True:
        description: dict[str, Any] = (await client.describe_table(TableName=table))["Table"]
        indexes = {
            i["IndexName"]: i.get("IndexStatus") for i in description.get("GlobalSecondaryIndexes", [])
        }
        if description["TableStatus"] == "ACTIVE" and all(st == "ACTIVE" for st in indexes.values()):
            return description
        if polls % 60 == 0:
            log.info(
                "waiting for the DynamoDB table %r (%s) and its indexes %s to be ACTIVE",
                table,
                description["TableStatus"],
                indexes,
            )
        polls += 1
        await asyncio.sleep(POLL_SECONDS)


async def upgrades(client: Any, table: str) -> set[str]:
    """The item backfills done on this table (STAGE_INDEX_UPGRADE, ...)."""
    response = await client.get_item(TableName=table, Key=UPGRADES_KEY, ConsistentRead=True)
    return set(response.get("Item", {}).get("done", {}).get("SS", []))


async def _record_upgrade(client: Any, table: str, name: str) -> None:
    await client.update_item(
        TableName=table,
        Key=UPGRADES_KEY,
        UpdateExpression="ADD done :n",
        ExpressionAttributeValues={":n": {"SS": [name]}},
    )


async def _asset_pages(client: Any, table: str) -> AsyncIterator[list[Item]]:
    """Every asset item's id, tenant_id, status and its `counted` and `frame_time` if present, a page at a
    time, walking the `assets` index shard by shard."""
    for shard in ALL_SHARDS:
        pages = query_pages(
            client,
            TableName=table,
            IndexName=INDEX_ASSETS,
            KeyConditionExpression="#h = :h",
            ExpressionAttributeNames={"#h": "shard"},  # a reserved word
            ExpressionAttributeValues={":h": s(shard)},
        )
        async for page in pages:
            keys = [{"PK": e["PK"], "SK": e["SK"]} for e in page]
            yield await batch_get(
                client,
                table,
                keys,
                projection=f"id, tenant_id, #st, {COUNTED}, {FRAME_TIME}",
                names={"#st": "status"},
            )


async def _backfill_stage_index(client: Any, table: str) -> None:
    """Mark and count every asset not counted yet (a video's keyframe never is: asset_items.counted)."""
    log.info("backfilling stage marks and asset counts in the DynamoDB table %r", table)
    marked = 0
    async for items in _asset_pages(client, table):
        uncounted = [i for i in items if COUNTED not in i and FRAME_TIME not in i]
        await bounded([_count_in(client, table, i) for i in uncounted])
        marked += len(uncounted)
    log.info("backfilled the DynamoDB table %r: %d assets were not counted yet", table, marked)


async def _uncount_keyframes(client: Any, table: str) -> None:
    """Take every counted keyframe out of its tenant's asset count."""
    log.info("taking video keyframes out of the asset counts in the DynamoDB table %r", table)
    found = 0
    async for items in _asset_pages(client, table):
        frames = [i for i in items if COUNTED in i and FRAME_TIME in i]
        await bounded([_count_out(client, table, i) for i in frames])
        found += len(frames)
    log.info("upgraded the DynamoDB table %r: %d keyframes were counted as assets", table, found)


async def _count_out(client: Any, table: str, item: Item) -> None:
    """One keyframe: its `counted` mark removed and its count shard lowered, if it is still counted."""
    tenant_id, asset_id = item["tenant_id"]["S"], item["id"]["S"]
    unmark = {
        "Update": {
            "TableName": table,
            "Key": asset_key(tenant_id, asset_id),
            "UpdateExpression": f"REMOVE {COUNTED}",
            "ConditionExpression": f"attribute_exists({COUNTED})",
        }
    }
    # a failed condition: deleted meanwhile (out of the count with it), or another init was first
    with contextlib.suppress(ConditionFailed):
        await transact(client, [unmark, count_update(table, tenant_id, asset_id, -1)])


async def _count_in(client: Any, table: str, item: Item) -> None:
    """One asset: its stage marks and `counted`, with its count shard, if its status is still the one read."""
    tenant_id, asset_id = item["tenant_id"]["S"], item["id"]["S"]
    for attempt in range(ATTEMPTS):
        stage = Stage(item["status"]["S"])
        sets, removes, values = stage_clauses(tenant_id, asset_id, stage)
        values.update({":yes": {"BOOL": True}, ":st": s(stage.value)})
        mark = {
            "Update": {
                "TableName": table,
                "Key": asset_key(tenant_id, asset_id),
                "UpdateExpression": set_remove([*sets, f"{COUNTED} = :yes"], removes),
                "ConditionExpression": f"attribute_not_exists({COUNTED}) AND #st = :st",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": values,
            }
        }
        try:
            await transact(client, [mark, count_update(table, tenant_id, asset_id, +1)])
            return
        except ConditionFailed:  # its stage changed, it was deleted, or it is counted already
            response = await client.get_item(
                TableName=table, Key=asset_key(tenant_id, asset_id), ConsistentRead=True
            )
            if "Item" not in response or COUNTED in response["Item"]:
                return
            item = response["Item"]
        await backoff(attempt)
    raise RuntimeError(f"could not backfill asset {asset_id}: its stage kept changing")
