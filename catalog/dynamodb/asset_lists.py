"""Assets in ID order in the scale-out catalog: one tenant's (a key range of its partition), every
tenant's (the sharded `assets` index) and the unfinished ones (the sparse, sharded `unfinished` index).

The cross-tenant walks read keys from eventually consistent indexes, then re-read the items consistently:
a just-registered asset may show up a moment later; a finished one is never returned as unfinished.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from catalog.domain.model import Asset
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import FINISHED, asset_from_item
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.requests import batch_get, query_up_to
from catalog.dynamodb.schema import ALL_SHARDS, INDEX_ASSETS, INDEX_UNFINISHED
from catalog.dynamodb.values import Item, s


@dataclass(frozen=True)
class _IndexPage:
    assets: tuple[Asset, ...]
    entries: int  # index entries read (assets may be fewer: the index lags behind deletions)
    last: str | None  # ID of the last entry: where the next page starts


class DynamoAssetLists(DynamoTable):
    """list_assets and unfinished_assets for DynamoCatalog."""

    async def list_assets(self, tenant_id: str | None, *, after: str | None, limit: int) -> list[Asset]:
        if limit <= 0:
            return []
        if tenant_id is None:
            return list((await self._walk_index(INDEX_ASSETS, "shard", after, limit)).assets)
        items = await self._tenant_range(
            tenant_id,
            ddb.asset_sk(after or ""),
            ddb.ASSET_END,
            limit,
            skip_id=after,
            Limit=limit + 1,  # BETWEEN is inclusive: the `after` asset itself may come first
        )
        return [asset_from_item(i) for i in items]

    async def unfinished_assets(self, *, after: str | None, limit: int) -> list[Asset]:
        out: list[Asset] = []
        while len(out) < limit:
            want = limit - len(out)
            page = await self._walk_index(INDEX_UNFINISHED, "pending", after, want)
            out.extend(a for a in page.assets if a.status not in FINISHED)  # the index may lag behind
            if page.last is None or page.entries < want:
                break
            after = page.last
        return out

    async def _walk_index(self, index: str, hash_attr: str, after: str | None, limit: int) -> _IndexPage:
        """Up to `limit` assets after `after` in ID order from a sharded index, re-read consistently."""

        async def shard_entries(shard: str) -> list[Item]:
            condition, names, values = "#h = :h", {"#h": hash_attr}, {":h": s(shard)}
            if after:
                condition, names["#id"], values[":after"] = f"{condition} AND #id > :after", "id", s(after)
            return await query_up_to(
                self._client,
                limit,
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                Limit=limit,
            )

        shards = await asyncio.gather(*(shard_entries(shard) for shard in ALL_SHARDS))
        entries = sorted((e for shard in shards for e in shard), key=lambda e: str(e["id"]["S"]))[:limit]
        keys = [{"PK": e["PK"], "SK": e["SK"]} for e in entries]
        items = await batch_get(self._client, self._table, keys)
        by_id = {(a := asset_from_item(i)).id: a for i in items}
        ids = [str(e["id"]["S"]) for e in entries]
        return _IndexPage(tuple(by_id[i] for i in ids if i in by_id), len(ids), ids[-1] if ids else None)
