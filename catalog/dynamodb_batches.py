"""Reprocessing batches in the scale-out catalog (layout: see catalog.dynamodb_run_items).

A batch's meta item also carries its preparation: `selection` (the filter, until resolved), `error` (FAILED),
`enqueued_through` (the queueing checkpoint) and `heartbeat_at`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from catalog import dynamodb_keys as ddb
from catalog.dynamodb_base import DynamoTable
from catalog.dynamodb_requests import (
    TRANSACT_MAX,
    ConditionFailed,
    batch_get,
    batch_put,
    bounded,
    query_all,
    query_up_to,
    transact,
    update_if_exists,
)
from catalog.dynamodb_values import Item, num, opt_s, s, time_text, to_int
from catalog.model import ReprocessBatch
from catalog.run_ports import BatchItemState
from catalog.sqlite_db import from_db_time, utcnow

UNENQUEUED_PK = "BATCHES#UNENQUEUED"


def batch_pk(tenant_id: str, batch_id: str) -> str:
    return f"TENANT#{tenant_id}#BATCH#{batch_id}"


def batch_sk(batch_id: str) -> str:
    return f"BATCH#{batch_id}"


def _batch(item: Item) -> ReprocessBatch:
    created = from_db_time(item["created_at"]["S"])
    assert created is not None
    return ReprocessBatch(
        id=item["batch_id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        analyzers=tuple(json.loads(item["analyzers"]["S"])),
        provider=opt_s(item, "provider"),
        parameters=json.loads(item["parameters"]["S"]),
        total=to_int(item["total"]),
        done=to_int(item["done"]),
        failed=to_int(item["failed"]),
        created_at=created,
        enqueued="enqueued" in item,
        selection=opt_s(item, "selection"),
        error=opt_s(item, "error") or "",
        enqueued_through=opt_s(item, "enqueued_through"),
        heartbeat_at=from_db_time(opt_s(item, "heartbeat_at")),
    )


def _item(pk: str, asset_id: str) -> Item:
    return {**ddb.key(pk, f"ITEM#{asset_id}"), "state": s(BatchItemState.PENDING)}


class DynamoBatches(DynamoTable):
    """The batch half of RunHistory for DynamoCatalog."""

    async def create_batch(self, batch: ReprocessBatch, asset_ids: Sequence[str]) -> None:
        pk = batch_pk(batch.tenant_id, batch.id)
        items = [_item(pk, a) for a in asset_ids]
        await batch_put(self._client, self._table, items)
        meta: Item = {
            **ddb.key(ddb.tenant_pk(batch.tenant_id), batch_sk(batch.id)),
            "batch_id": s(batch.id),
            "tenant_id": s(batch.tenant_id),
            "analyzers": s(json.dumps(list(batch.analyzers))),
            "parameters": s(json.dumps(batch.parameters, sort_keys=True)),
            "total": num(len(asset_ids)),
            "done": num(0),
            "failed": num(0),
            "created_at": s(time_text(batch.created_at)),
        }
        if batch.provider:
            meta["provider"] = s(batch.provider)
        if batch.selection is not None:
            meta["selection"] = s(batch.selection)
        marker = {**ddb.key(UNENQUEUED_PK, batch.id), "tenant_id": s(batch.tenant_id)}
        await transact(self._client, [self._put(meta), self._put(marker)])  # items first: no short batch

    async def get_batch(self, tenant_id: str, batch_id: str) -> ReprocessBatch | None:
        found = await batch_get(
            self._client, self._table, [ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id))]
        )
        return _batch(found[0]) if found else None

    async def list_batches(self, tenant_id: str, *, limit: int) -> list[ReprocessBatch]:
        items = await query_up_to(
            self._client,
            limit,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :b)",
            ExpressionAttributeValues={":pk": s(ddb.tenant_pk(tenant_id)), ":b": s("BATCH#")},
            ScanIndexForward=False,  # UUIDv7 batch IDs: key order is creation order
            Limit=limit,
        )
        return [_batch(i) for i in items]

    async def batch_failures(self, tenant_id: str, batch_id: str, *, limit: int) -> list[tuple[str, str]]:
        failed = await self.batch_items(tenant_id, batch_id, BatchItemState.FAILED, after=None, limit=limit)
        keys = [ddb.key(batch_pk(tenant_id, batch_id), f"ITEM#{a}") for a in failed]
        errors = {
            i["SK"]["S"].removeprefix("ITEM#"): opt_s(i, "error") or ""
            for i in await batch_get(self._client, self._table, keys)
        }
        return [(a, errors.get(a, "")) for a in failed]

    async def batch_items(
        self, tenant_id: str, batch_id: str, state: str, *, after: str | None, limit: int
    ) -> list[str]:
        if await self.get_batch(tenant_id, batch_id) is None:
            return []
        items = await query_up_to(
            self._client,
            limit,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :start AND :end",
            FilterExpression="#state = :state",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":pk": s(batch_pk(tenant_id, batch_id)),
                ":start": s(f"ITEM#{after or ''}\x00" if after else "ITEM#"),
                ":end": s("ITEM$"),
                ":state": s(state),
            },
        )
        return [item["SK"]["S"].removeprefix("ITEM#") for item in items]

    async def batch_item_state(self, tenant_id: str, batch_id: str, asset_id: str) -> str | None:
        found = await batch_get(
            self._client, self._table, [ddb.key(batch_pk(tenant_id, batch_id), f"ITEM#{asset_id}")]
        )
        return found[0]["state"]["S"] if found else None

    async def finish_batch_item(
        self, tenant_id: str, batch_id: str, asset_id: str, *, failed: bool, error: str = ""
    ) -> bool:
        state = BatchItemState.FAILED if failed else BatchItemState.DONE
        item = self._update(
            ddb.key(batch_pk(tenant_id, batch_id), f"ITEM#{asset_id}"),
            "SET #state = :state, #error = :error",
            {":state": s(state), ":error": s(error), ":pending": s(BatchItemState.PENDING)},
            condition="#state = :pending",
            names={"#state": "state", "#error": "error"},
        )
        column = "failed" if failed else "done"
        meta = ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id))
        counter = self._update(meta, f"ADD {column} :one", {":one": num(1)})
        try:
            await transact(self._client, [item, counter])
        except ConditionFailed:
            return False
        return True

    async def set_batch_enqueued(self, tenant_id: str, batch_id: str) -> None:
        await self._close(tenant_id, batch_id, "SET enqueued = :yes", {})

    async def fail_batch(self, tenant_id: str, batch_id: str, error: str) -> None:
        await self._close(tenant_id, batch_id, "SET enqueued = :yes, #error = :error", {":error": s(error)})

    async def _close(self, tenant_id: str, batch_id: str, expression: str, values: Item) -> None:
        """Update the batch and drop its unenqueued marker, together."""
        meta = ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id))
        names = {"#error": "error"} if "#error" in expression else None
        note = self._update(meta, expression, {":yes": {"BOOL": True}, **values}, names=names)
        drop = {"Delete": {"TableName": self._table, "Key": ddb.key(UNENQUEUED_PK, batch_id)}}
        await transact(self._client, [note, drop])

    async def unenqueued_batches(self) -> list[ReprocessBatch]:
        markers = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(UNENQUEUED_PK)},
        )
        keys = [ddb.key(ddb.tenant_pk(m["tenant_id"]["S"]), batch_sk(m["SK"]["S"])) for m in markers]
        return sorted(map(_batch, await batch_get(self._client, self._table, keys)), key=lambda b: b.id)

    async def add_batch_items(self, tenant_id: str, batch_id: str, asset_ids: Sequence[str]) -> bool:
        pk = batch_pk(tenant_id, batch_id)
        # Each chunk is written only while the batch is still resolving (its meta item has a selection).
        check = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id)),
                "ConditionExpression": "attribute_exists(selection) AND attribute_not_exists(#error)",
                "ExpressionAttributeNames": {"#error": "error"},
            }
        }
        puts = [self._put(_item(pk, a)) for a in dict.fromkeys(asset_ids)]
        step = TRANSACT_MAX - 1

        async def write(chunk: list[dict[str, object]]) -> bool:
            try:
                await transact(self._client, [check, *chunk])
            except ConditionFailed:
                return False
            return True

        return all(await bounded([write(puts[i : i + step]) for i in range(0, len(puts), step)]))

    async def resolve_batch(self, tenant_id: str, batch_id: str) -> int:
        batch = await self.get_batch(tenant_id, batch_id)
        if batch is None or batch.selection is None:
            return batch.total if batch else 0
        total = await self._count_items(batch_pk(tenant_id, batch_id))
        meta = ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id))
        resolve = self._update(
            meta,
            "SET #total = :total, heartbeat_at = :now REMOVE selection",
            {":total": num(total), ":now": s(time_text(utcnow()))},
            condition="attribute_exists(selection)",
            names={"#total": "total"},
        )
        try:
            await transact(self._client, [resolve])
        except ConditionFailed:  # another run resolved it meanwhile: its total stands
            done = await self.get_batch(tenant_id, batch_id)
            return done.total if done else 0
        return total

    async def _count_items(self, pk: str) -> int:
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :start AND :end",
            "ExpressionAttributeValues": {":pk": s(pk), ":start": s("ITEM#"), ":end": s("ITEM$")},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        count = 0
        while True:
            page = await self._client.query(**request)
            count += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return count
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def checkpoint_batch(self, tenant_id: str, batch_id: str, enqueued_through: str | None) -> None:
        values = {":now": s(time_text(utcnow()))}
        expression = "SET heartbeat_at = :now"
        if enqueued_through is not None:
            values[":through"] = s(enqueued_through)
            expression += ", enqueued_through = :through"
        await update_if_exists(
            self._client,
            TableName=self._table,
            Key=ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id)),
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )
