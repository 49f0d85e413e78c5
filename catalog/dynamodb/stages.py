"""Assets by pipeline stage in the scale-out catalog: key-range reads of the sparse `stages` index.

Only assets that are not INDEXED carry `stage_key` (TENANT#<tenant>#STAGE#<stage>), so a tenant's failed
or in-flight assets are one index partition per stage, however many indexed assets the tenant has:
- assets_in_stages reads the requested partitions newest first, merges them by ID, and re-reads the
  items consistently (the index lags a moment behind set_stage: an entry whose asset has moved on is
  passed over). A listing that asks for INDEXED too walks the tenant's asset range with a filter, which
  is cheap exactly then: most assets are indexed, so the filter keeps most of what is read.
- stage_counts counts each partition (Select COUNT over KEYS_ONLY entries, a few hundred bytes each) and
  takes INDEXED as the tenant's asset count (catalog.dynamodb.assets keeps it exact) minus the rest.
  A video's keyframes are neither listed nor counted (they belong to their video): registered INDEXED,
  they are in no partition, the listing's walk filters them out and the asset count leaves them out.
  Like every index read it may trail a change by the index's propagation delay (typically well under a
  second); it never estimates.
Tables made before this index are upgraded by `mediasight init` (catalog.dynamodb.table).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from catalog.domain.model import Asset, Stage
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import FRAME_TIME, asset_from_item, asset_key, count_keys, stage_key
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.requests import batch_get, query_all, query_count, query_up_to
from catalog.dynamodb.schema import INDEX_STAGES
from catalog.dynamodb.table import STAGE_INDEX_UPGRADE, upgrades
from catalog.dynamodb.values import Item, s, to_int


class DynamoStages(DynamoTable):
    """assets_in_stages, stage_counts and stages_of for DynamoCatalog."""

    _stages_ready = False  # set on the instance once the `stages` index is known to be complete

    async def _stage_index_ready(self) -> bool:
        """Whether `init` has built and filled the `stages` index. Until then (a new release running on a
        table not upgraded yet, or mid-backfill) listings and counts walk the tenant's assets instead."""
        if not self._stages_ready:
            self._stages_ready = STAGE_INDEX_UPGRADE in await upgrades(self._client, self._table)
        return self._stages_ready

    async def assets_in_stages(
        self, tenant_id: str, stages: Sequence[Stage], *, after: str | None, limit: int
    ) -> list[Asset]:
        wanted = tuple(dict.fromkeys(stages))
        if not wanted or limit <= 0:
            return []
        if Stage.INDEXED in wanted or not await self._stage_index_ready():
            return await self._filtered_range(tenant_id, wanted, after, limit)
        out: list[Asset] = []
        while len(out) < limit:
            want = limit - len(out)
            found = await asyncio.gather(*(self._stage_entries(tenant_id, st, after, want) for st in wanted))
            # a set: while the index trails a stage change, an asset may stand in two of the partitions
            ids = sorted({e["id"]["S"] for entries in found for e in entries}, reverse=True)[:want]
            assets = await batch_get(self._client, self._table, [asset_key(tenant_id, i) for i in ids])
            by_id = {(a := asset_from_item(i)).id: a for i in assets}
            out += [by_id[i] for i in ids if i in by_id and by_id[i].status in wanted]
            if len(ids) < want:
                break
            after = ids[-1]
        return out

    async def _stage_entries(
        self, tenant_id: str, stage: Stage, before: str | None, limit: int
    ) -> list[Item]:
        """Up to `limit` index entries of the tenant's assets in `stage`, newest first, below `before`."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "stage_key = :k",
            "ExpressionAttributeValues": {":k": s(stage_key(tenant_id, stage))},
        }
        if before:
            request["KeyConditionExpression"] += " AND #id < :before"
            request["ExpressionAttributeNames"] = {"#id": "id"}
            request["ExpressionAttributeValues"][":before"] = s(before)
        return await query_up_to(
            self._client,
            limit,
            TableName=self._table,
            IndexName=INDEX_STAGES,
            ScanIndexForward=False,
            Limit=limit,
            **request,
        )

    async def _filtered_range(
        self, tenant_id: str, stages: Sequence[Stage], after: str | None, limit: int
    ) -> list[Asset]:
        """A filtered walk of the tenant's asset range, newest first (for listings that include INDEXED);
        a video's keyframes (INDEXED from the start, never in a stage partition) are passed over."""
        values = {f":s{i}": s(st.value) for i, st in enumerate(stages)}
        items = await self._tenant_range(
            tenant_id,
            ddb.ASSET_PREFIX,
            ddb.asset_sk(after) if after else ddb.ASSET_END,
            limit,
            skip_id=after,
            FilterExpression=f"#st IN ({', '.join(values)}) AND attribute_not_exists({FRAME_TIME})",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
        )
        return [asset_from_item(i) for i in items]

    async def stage_counts(self, tenant_id: str) -> dict[Stage, int]:
        if not await self._stage_index_ready():
            return await self._walked_counts(tenant_id)
        others: list[Stage] = [st for st in Stage if st != Stage.INDEXED]
        *counts, total = await asyncio.gather(
            *(self._count_stage(tenant_id, st) for st in others), self._asset_count(tenant_id)
        )
        by_stage: dict[Stage, int] = dict(zip(others, counts, strict=True))
        by_stage[Stage.INDEXED] = max(total - sum(counts), 0)  # < 0 only while the index trails
        return {st: n for st, n in by_stage.items() if n}

    async def _walked_counts(self, tenant_id: str) -> dict[Stage, int]:
        """Every asset's stage, read from the tenant's range (the way before the index)."""
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": s(ddb.tenant_pk(tenant_id)), ":prefix": s(ddb.ASSET_PREFIX)},
            ProjectionExpression=f"#st, {FRAME_TIME}",
            ExpressionAttributeNames={"#st": "status"},
        )
        return dict(Counter(Stage(item["status"]["S"]) for item in items if FRAME_TIME not in item))

    async def _count_stage(self, tenant_id: str, stage: Stage) -> int:
        return await query_count(
            self._client,
            TableName=self._table,
            IndexName=INDEX_STAGES,
            KeyConditionExpression="stage_key = :k",
            ExpressionAttributeValues={":k": s(stage_key(tenant_id, stage))},
        )

    async def _asset_count(self, tenant_id: str) -> int:
        items = await batch_get(self._client, self._table, count_keys(tenant_id))
        return sum(to_int(i["n"]) for i in items)

    async def stages_of(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Stage]:
        keys = [asset_key(tenant_id, a) for a in asset_ids]
        projection, names = "#id, #st", {"#id": "id", "#st": "status"}
        items = await batch_get(self._client, self._table, keys, projection=projection, names=names)
        return {item["id"]["S"]: Stage(item["status"]["S"]) for item in items}
