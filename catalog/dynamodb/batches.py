"""Reprocessing batches in the scale-out catalog (layout: see catalog.dynamodb.run_items).

A batch's meta item also carries its preparation (catalog.dynamodb.preparations).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from catalog.domain.clock import from_db_time
from catalog.domain.model import ReprocessBatch
from catalog.domain.run_ports import BatchItemState, check_selection
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.preparations import UNENQUEUED_PK, DynamoPreparations, batch_item, batch_pk, batch_sk
from catalog.dynamodb.requests import ConditionFailed, batch_get, batch_put, query_all, query_up_to, transact
from catalog.dynamodb.values import Item, num, opt_s, s, time_text, to_int

__all__ = ["DynamoBatches", "batch_pk"]


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
        outdated_only="outdated_only" in item,
        error=opt_s(item, "error") or "",
        enqueued_through=opt_s(item, "enqueued_through"),
        heartbeat_at=from_db_time(opt_s(item, "heartbeat_at")),
        claimed_until=from_db_time(opt_s(item, "claim_until")),
    )


class DynamoBatches(DynamoPreparations):
    """The batch half of RunHistory for DynamoCatalog."""

    async def create_batch(self, batch: ReprocessBatch, asset_ids: Sequence[str]) -> None:
        check_selection(batch)  # before any write
        pk = batch_pk(batch.tenant_id, batch.id)
        items = [batch_item(pk, a) for a in asset_ids]
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
        if batch.outdated_only:
            meta["outdated_only"] = {"BOOL": True}
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

    async def unenqueued_batches(self) -> list[ReprocessBatch]:
        markers = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(UNENQUEUED_PK)},
        )
        keys = [ddb.key(ddb.tenant_pk(m["tenant_id"]["S"]), batch_sk(m["SK"]["S"])) for m in markers]
        return sorted(map(_batch, await batch_get(self._client, self._table, keys)), key=lambda b: b.id)
