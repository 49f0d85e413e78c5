"""What changed, in the scale-out catalog (layout: catalog.dynamodb.run_items): the per-tenant change
feed (an entry per change, the asset item's `changed_at` naming the live one, tombstones for deleted
assets) and the change summaries that batches and model-version changes collect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalog.domain.clock import from_db_time, utcnow
from catalog.domain.model import ChangedAsset
from catalog.domain.run_ports import ChangeRecord
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import asset_key
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.batches import batch_pk
from catalog.dynamodb.requests import ConditionFailed, batch_get, query_all, query_pages, transact
from catalog.dynamodb.run_items import change_record, changes_pk, feed_entry, model_change_pk, tombstone_sk
from catalog.dynamodb.values import opt_s, s, time_text


class DynamoChanges(DynamoTable):
    """change_records, mark_changed and changed_assets for DynamoCatalog."""

    async def change_records(
        self,
        tenant_id: str,
        *,
        batch_id: str | None = None,
        analyzer: str | None = None,
        from_version: str | None = None,
        to_version: str | None = None,
    ) -> list[ChangeRecord]:
        if batch_id is not None:  # the batch's partition also holds its items: only the CHG# range
            condition, values = "PK = :pk AND begins_with(SK, :p)", {":p": s("CHG#")}
            pk = batch_pk(tenant_id, batch_id)
        else:
            assert analyzer is not None and from_version is not None and to_version is not None
            condition, values = "PK = :pk", {}
            pk = model_change_pk(tenant_id, analyzer, from_version, to_version)
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues={":pk": s(pk), **values},
        )
        return sorted(map(change_record, items), key=lambda c: (c.asset_id, c.finished_at))

    async def mark_changed(self, tenant_id: str, asset_ids: Sequence[str]) -> None:
        at = time_text(utcnow())
        for asset_id in dict.fromkeys(asset_ids):
            note = self._update(asset_key(tenant_id, asset_id), "SET changed_at = :f", {":f": s(at)})
            try:
                await transact(self._client, [note, self._put(feed_entry(tenant_id, asset_id, at))])
            except ConditionFailed:
                continue  # deleted meanwhile: nothing to feed

    async def changed_assets(
        self,
        tenant_id: str,
        since: datetime,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
        newest_first: bool = False,
    ) -> list[ChangedAsset]:
        # Sort keys are "<time>#<asset ID>": the time alone sorts before every entry made at it.
        cursor = f"{time_text(after[0])}#{after[1]}" if after else None
        values = {":pk": s(changes_pk(tenant_id)), ":since": s(time_text(since))}
        if not newest_first:
            condition = "PK = :pk AND SK > :since"
            values[":since"] = s(cursor or time_text(since))
        elif cursor is None:
            condition = "PK = :pk AND SK >= :since"
        else:  # BETWEEN takes the cursor's own entry too: it is skipped below
            condition, values[":cursor"] = "PK = :pk AND SK BETWEEN :since AND :cursor", s(cursor)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": max(limit, 25),
        }
        out: list[ChangedAsset] = []
        async for page in query_pages(self._client, **request):
            entries = [
                (item["SK"]["S"].rsplit("#", 1)[0], item["asset_id"]["S"])
                for item in page
                if item["SK"]["S"] != cursor
            ]
            assets = await batch_get(
                self._client,
                self._table,
                [asset_key(tenant_id, a) for _, a in entries],
                projection="#id, changed_at",
                names={"#id": "id"},
            )
            live = {a["id"]["S"]: opt_s(a, "changed_at") for a in assets}
            gone = [a for _, a in entries if a not in live]
            tombs = await batch_get(
                self._client, self._table, [ddb.key(ddb.tenant_pk(tenant_id), tombstone_sk(a)) for a in gone]
            )
            deleted = {t["SK"]["S"].removeprefix("TOMB#"): t["changed_at"]["S"] for t in tombs}
            for at, asset_id in entries:
                if (
                    live.get(asset_id) == at or deleted.get(asset_id) == at
                ):  # else superseded by a later entry
                    when = from_db_time(at)
                    assert when is not None
                    out.append(ChangedAsset(asset_id, when, deleted=asset_id in deleted))
                    if len(out) == limit:
                        return out
        return out
