"""What every DynamoDB catalog mixin shares: the client and table, and small item helpers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalog.domain.clock import from_db_time
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.requests import query_all, query_up_to
from catalog.dynamodb.values import Item, opt_s, s, time_text


def time_s(value: datetime) -> dict[str, str]:
    """A timestamp as an attribute value (see time_text)."""
    return s(time_text(value))


def opt_time(item: Item, name: str) -> datetime | None:
    return from_db_time(opt_s(item, name))


def req_time(item: Item, name: str) -> datetime:
    value = from_db_time(item[name]["S"])
    assert value is not None
    return value


def put_new(table: str, item: Item) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}


def exists_check(table: str, key: Item) -> dict[str, Any]:
    return {"ConditionCheck": {"TableName": table, "Key": key, "ConditionExpression": "attribute_exists(PK)"}}


def set_remove(sets: Sequence[str], removes: Sequence[str] = ()) -> str:
    """An UpdateExpression from SET clauses and attributes to REMOVE."""
    return f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else "")


class DynamoTable:
    """The table an adapter mixin works on (DynamoCatalog sets both, once, from the bootstrap's client)."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _put(self, item: Item) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": item}}

    def _update(
        self,
        key: Item,
        expression: str,
        values: dict[str, Any],
        *,
        condition: str = "attribute_exists(PK)",
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A transaction's Update action; by default only of an item that exists."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    async def _get(self, pk: str, sk: str) -> Item | None:
        response = await self._client.get_item(
            TableName=self._table, Key=ddb.key(pk, sk), ConsistentRead=True
        )
        item: Item | None = response.get("Item")
        return item

    async def _tenant_range(
        self, tenant_id: str, lo: str, hi: str, limit: int, *, skip_id: str | None, **request: Any
    ) -> list[Item]:
        """Up to `limit` items of the tenant's partition with sort keys from lo to hi (both inclusive),
        without the one whose `id` is skip_id; `request` adds to the Query (filter, direction, ...)."""
        values = request.pop("ExpressionAttributeValues", {})
        return await query_up_to(
            self._client,
            limit,
            skip_id=skip_id,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": s(ddb.tenant_pk(tenant_id)),
                ":lo": s(lo),
                ":hi": s(hi),
                **values,
            },
            **request,
        )

    async def _tenant_items(self, tenant_id: str, prefix: str, projection: str) -> list[Item]:
        return await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": s(ddb.tenant_pk(tenant_id)), ":prefix": s(prefix)},
            ProjectionExpression=projection,
        )
