"""The DynamoDB requests both adapters make on the shared table: paginated Query, BatchGetItem,
BatchWriteItem, transactions and conditional updates, each retried on throttling as DynamoDB asks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Awaitable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from catalog.dynamodb.values import Item

T = TypeVar("T")

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
    """BatchWriteItem puts in chunks of 25, several chunks at once, unprocessed items retried: many
    independent items, fast."""
    await _batch_write(client, table, [{"PutRequest": {"Item": i}} for i in items])


async def batch_delete(client: Any, table: str, keys: Sequence[Item]) -> None:
    """BatchWriteItem deletes (of {PK, SK} keys) in chunks of 25, several at once, unprocessed ones
    retried."""
    await _batch_write(client, table, [{"DeleteRequest": {"Key": k}} for k in keys])


async def _batch_write(client: Any, table: str, writes: Sequence[dict[str, Any]]) -> None:
    """Every write, in requests of 25 with up to CONCURRENCY of them in flight (the writes are independent:
    callers that need an order make one call per step). Each request retries its own unprocessed items."""
    await bounded(
        [
            _write_chunk(client, table, writes[start : start + BATCH_WRITE_MAX])
            for start in range(0, len(writes), BATCH_WRITE_MAX)
        ]
    )


async def _write_chunk(client: Any, table: str, writes: Sequence[dict[str, Any]]) -> None:
    request: dict[str, Any] = {table: list(writes)}
    for attempt in range(ATTEMPTS * 2):
        response = await client.batch_write_item(RequestItems=request)
        request = response.get("UnprocessedItems") or {}
        if not request:
            return
        await backoff(attempt)
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
