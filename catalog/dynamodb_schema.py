"""The DynamoDB table shared by the catalog and the face collection: keys, indexes, and the few request
helpers both adapters use (attribute values, paginated Query, BatchGetItem, transactions). Creating and
upgrading the table: catalog.dynamodb_table.

Items (PK / SK), every tenant-owned key starting with the tenant, so scoping is structural:

| item                    | PK                          | SK                   |
|-------------------------|-----------------------------|----------------------|
| tenant                  | TENANT#<tenant>             | TENANT               |
| tenant name (unique)    | TENANTNAME#<name>           | TENANTNAME           |
| api key (by hash)       | KEY#<sha256 of the key>     | KEY                  |
| api key (tenant's list) | TENANT#<tenant>             | APIKEY#<key id>      |
| asset                   | TENANT#<tenant>             | ASSET#<asset id>     |
| asset count (32 shards) | TENANT#<tenant>             | COUNT#ASSETS#<nn>    |
| content hash (unique)   | TENANT#<tenant>             | SHA#<sha256>         |
| version edge            | TENANT#<tenant>             | CHILD#<parent>#<id>  |
| person                  | TENANT#<tenant>             | PERSON#<person id>   |
| person name (unique)    | TENANT#<tenant>             | PERSONNAME#<lower>   |
| recognition result      | TENANT#<tenant>#ASSET#<id>  | RESULT#<analyzer>    |
| perceptual hash         | TENANT#<tenant>#PHASH       | PHASH#<asset id>     |
| face                    | TENANT#<tenant>#FACES       | FACE#<asset>#<index> |

Global secondary indexes (KEYS_ONLY: the adapters re-read the items consistently from the base table):
- `unfinished` (pending, id): sparse; only assets neither indexed nor failed carry `pending`.
- `assets` (shard, id): every asset, for operator tools that walk all tenants in ID order.
- `stages` (stage_key, id): sparse; only assets not INDEXED (the common case) carry `stage_key`
  (TENANT#<tenant>#STAGE#<stage>), so a tenant's failed or in-flight assets are one key range each.
  With the asset count (kept in the transactions that register and delete assets) it makes stage
  counts exact without reading the tenant's assets: INDEXED = count - the other stages.
The version tree uses edge items, not an index: they are written in the same transaction as the child's
parent_id, so an asset's versions read back strongly consistent right after they are linked.
`pending` and `shard` are one of SHARDS values (write sharding: a constant partition key would cap the
whole table's ingest at one index partition's ~1,000 writes/s); readers query every shard and merge by ID.
Changing SHARDS needs a backfill of `shard`/`pending`.

Numbers travel as DynamoDB's decimal strings and are converted here, at the edge (`num`, `to_int`,
`to_float`); no vendor dict leaves the adapters.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import AsyncGenerator, Awaitable, Sequence
from contextlib import aclosing
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from catalog.sqlite_db import to_db_time

Item = dict[str, Any]  # an item in DynamoDB's wire format: {"name": {"S": "..."}}
T = TypeVar("T")

INDEX_UNFINISHED = "unfinished"
INDEX_ASSETS = "assets"
INDEX_STAGES = "stages"
SHARDS = 8
BATCH_GET_MAX = 100  # BatchGetItem keys per request
TRANSACT_MAX = 100  # TransactWriteItems actions per request
BATCH_WRITE_MAX = 25  # BatchWriteItem requests per call
ATTEMPTS = 8  # for throttled or conflicting requests that DynamoDB asks us to retry
CONCURRENCY = 16  # requests in flight for per-item work (one Query per asset, one update per face)


class Conflict(ValueError):
    """A uniqueness guard said no: the name, hash or ID is taken."""


class ConditionFailed(Exception):
    """A transaction was cancelled because a condition failed; `reasons` has one code per action."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(f"transaction cancelled: {', '.join(reasons)}")
        self.reasons = tuple(reasons)


# --- keys -------------------------------------------------------------------------------------------


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


TENANT_SK = "TENANT"
TENANT_NAME_SK = "TENANTNAME"
KEY_SK = "KEY"
ASSET_PREFIX = "ASSET#"
ASSET_END = "ASSET$"  # sorts right after every "ASSET#..." key


def tenant_name_pk(name: str) -> str:
    return f"TENANTNAME#{name}"


def api_key_pk(key_hash: str) -> str:
    return f"KEY#{key_hash}"


def api_key_sk(key_id: str) -> str:
    return f"APIKEY#{key_id}"


def children_prefix(parent_id: str) -> str:
    return f"CHILD#{parent_id}#"


def child_sk(parent_id: str, child_id: str) -> str:
    return f"{children_prefix(parent_id)}{child_id}"


def asset_sk(asset_id: str) -> str:
    return f"{ASSET_PREFIX}{asset_id}"


def sha_sk(sha256: str) -> str:
    return f"SHA#{sha256}"


def result_pk(tenant_id: str, asset_id: str) -> str:
    return f"TENANT#{tenant_id}#ASSET#{asset_id}"


def result_sk(analyzer: str) -> str:
    return f"RESULT#{analyzer}"


def phash_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#PHASH"


def phash_sk(asset_id: str) -> str:
    return f"PHASH#{asset_id}"


def person_sk(person_id: str) -> str:
    return f"PERSON#{person_id}"


def person_name_sk(name: str) -> str:
    return f"PERSONNAME#{name.lower()}"


def faces_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#FACES"


def asset_faces_prefix(asset_id: str) -> str:
    return f"FACE#{asset_id}#"


def face_sk(asset_id: str, face_index: int) -> str:
    return f"{asset_faces_prefix(asset_id)}{face_index:06d}"


def key(pk: str, sk: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def shard_of(asset_id: str) -> str:
    return f"S{zlib.crc32(asset_id.encode()) % SHARDS}"


ALL_SHARDS = tuple(f"S{i}" for i in range(SHARDS))


# --- attribute values ---------------------------------------------------------------------------------


def s(value: str) -> dict[str, str]:
    return {"S": value}


def num(value: int | float) -> dict[str, str]:
    """A number as DynamoDB wants it: a decimal string (floats through their shortest exact repr)."""
    return {"N": str(value) if isinstance(value, int) else str(Decimal(repr(float(value))))}


def to_int(av: dict[str, str]) -> int:
    return int(Decimal(av["N"]))


def to_float(av: dict[str, str]) -> float:
    return float(Decimal(av["N"]))


def time_text(value: datetime) -> str:
    """A timestamp as stored (ISO-8601 UTC with microseconds: sorts as text)."""
    text = to_db_time(value)
    assert text is not None
    return text


def opt_s(item: Item, name: str) -> str | None:
    av = item.get(name)
    return None if av is None else str(av["S"])


# --- requests -------------------------------------------------------------------------------------------


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


async def backoff(attempt: int) -> None:
    await asyncio.sleep(min(1.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.0))


async def bounded(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Await every call, at most CONCURRENCY at a time, results in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(run(c) for c in calls)))


async def query_pages(client: Any, **request: Any) -> AsyncGenerator[list[Item], None]:
    """Every page of a Query (strongly consistent unless the request says otherwise or reads an index)."""
    if "IndexName" not in request:
        request.setdefault("ConsistentRead", True)
    while True:
        response = await client.query(**request)
        yield response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        request["ExclusiveStartKey"] = last


async def query_all(client: Any, **request: Any) -> list[Item]:
    return [item async for page in query_pages(client, **request) for item in page]


async def query_up_to(client: Any, limit: int, *, skip_id: str | None = None, **request: Any) -> list[Item]:
    """The first `limit` items of a Query, read page by page (without the item whose `id` is skip_id)."""
    out: list[Item] = []
    pages = query_pages(client, **request)
    async with aclosing(pages):
        async for page in pages:
            out.extend(i for i in page if skip_id is None or i["id"]["S"] != skip_id)
            if len(out) >= limit:
                break
    return out[:limit]


async def query_count(client: Any, **request: Any) -> int:
    """How many items a Query matches (Select COUNT: every page is read, no item is returned)."""
    request["Select"] = "COUNT"
    if "IndexName" not in request:
        request.setdefault("ConsistentRead", True)
    total = 0
    while True:
        response = await client.query(**request)
        total += int(response.get("Count", 0))
        if not (last := response.get("LastEvaluatedKey")):
            return total
        request["ExclusiveStartKey"] = last


async def batch_get(
    client: Any,
    table: str,
    keys: Sequence[Item],
    *,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> list[Item]:
    """Strongly consistent BatchGetItem in chunks of 100 distinct keys; unprocessed keys are retried."""
    unique = list({(k["PK"]["S"], k["SK"]["S"]): k for k in keys}.values())
    chunks = [unique[i : i + BATCH_GET_MAX] for i in range(0, len(unique), BATCH_GET_MAX)]

    async def fetch(chunk: list[Item]) -> list[Item]:
        spec: dict[str, Any] = {"Keys": chunk, "ConsistentRead": True}
        if projection:
            spec["ProjectionExpression"] = projection
        if names:
            spec["ExpressionAttributeNames"] = names
        found: list[Item] = []
        request: dict[str, Any] = {table: spec}
        for attempt in range(ATTEMPTS * 2):
            response = await client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            await backoff(attempt)
        raise RuntimeError(f"BatchGetItem on {table!r} left keys unprocessed after retries")

    pages = await asyncio.gather(*(fetch(c) for c in chunks))
    return [item for page in pages for item in page]


async def transact(client: Any, actions: Sequence[dict[str, Any]]) -> None:
    """TransactWriteItems; conflicts and throttling are retried, a failed condition raises ConditionFailed."""
    for attempt in range(ATTEMPTS):
        try:
            await client.transact_write_items(TransactItems=list(actions))
            return
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise ConditionFailed(reasons) from exc
            if attempt == ATTEMPTS - 1 or not _RETRYABLE & set(reasons):
                raise
        await backoff(attempt)


async def batch_put(client: Any, table: str, items: Sequence[Item]) -> None:
    """BatchWriteItem puts in chunks of 25, unprocessed items retried: many independent items, fast."""
    for start in range(0, len(items), BATCH_WRITE_MAX):
        request: dict[str, Any] = {
            table: [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH_WRITE_MAX]]
        }
        for attempt in range(ATTEMPTS * 2):
            response = await client.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
            if not request:
                break
            await backoff(attempt)
        else:
            raise RuntimeError(f"BatchWriteItem on {table!r} left items unprocessed after retries")


async def transact_chunks(client: Any, actions: Sequence[dict[str, Any]]) -> None:
    """Many actions, atomic per chunk of 100 (callers must be idempotent across chunks)."""
    for start in range(0, len(actions), TRANSACT_MAX):
        await transact(client, actions[start : start + TRANSACT_MAX])


async def update_if_exists(client: Any, **request: Any) -> bool:
    """UpdateItem that never creates an item: False when the key does not exist."""
    request["ConditionExpression"] = "attribute_exists(PK)"
    try:
        await client.update_item(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True
