"""The scale-out catalog: tenants, keys, assets and recognition results in one DynamoDB table.

Why one table (layout in catalog.dynamodb_schema): every access pattern is known and key-shaped (tenant →
assets in ID order, asset → results, hash → asset, key hash → key), so each read is a GetItem, a
BatchGetItem or one key-range Query. The guarantees DynamoDB has no constraint for (unique tenant
names, one asset per tenant and content hash) are guard items written in the same TransactWriteItems as
what they guard. Tenant scoping is structural: every tenant-owned key begins with TENANT#<id>, so another
tenant's IDs address items that do not exist instead of relying on a filter. One table is also one unit
to create (`mediasight init`), grant, back up and bill; the asset and faces adapters share it.

Consistency: base-table reads are strongly consistent. The cross-tenant walks (`list_assets(None)`,
`unfinished_assets`) read keys from eventually consistent indexes, then re-read the items consistently
(a just-registered asset may show up a moment later; a finished one is never returned).

Limits to know: results are stored as zlib-compressed JSON (catalog.codec), and an item may not exceed
400 KB; one tenant's assets share a partition key, and UUIDv7 IDs grow, so a single tenant's ingest tops
out around several hundred assets per second (shard the tenant key if one tenant needs more).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass
from typing import Any

from catalog import dynamodb_schema as ddb
from catalog.dynamodb_base import exists_check, opt_time, put_new, req_time, time_s
from catalog.dynamodb_batches import DynamoBatches
from catalog.dynamodb_runs import DynamoRunHistory, change_keys, feed_tombstone
from catalog.dynamodb_schema import Item, num, opt_s, s, to_int
from catalog.dynamodb_tenants import DynamoTenants
from catalog.model import (
    Asset,
    Rendition,
    Stage,
    VersionRelation,
)
from catalog.phash import nearest_hashes
from catalog.sqlite_db import to_db_time, utcnow

FINISHED = (Stage.INDEXED, Stage.FAILED)


def _asset_key(tenant_id: str, asset_id: str) -> Item:
    return ddb.key(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))


def _renditions(renditions: Sequence[Rendition]) -> dict[str, str]:
    return s(json.dumps([[r.kind, r.blob_key, r.width, r.height, r.media_type] for r in renditions]))


def _asset_item(a: Asset) -> Item:
    item: Item = {
        **_asset_key(a.tenant_id, a.id),
        "id": s(a.id),
        "tenant_id": s(a.tenant_id),
        "sha256": s(a.sha256),
        "size_bytes": num(a.size_bytes),
        "media_type": s(a.media_type),
        "width": num(a.width),
        "height": num(a.height),
        "filename": s(a.filename),
        "blob_key": s(a.blob_key),
        "created_at": time_s(a.created_at),
        "updated_at": time_s(a.updated_at),
        "status": s(a.status.value),
        "orientation": num(a.orientation),
        "renditions": _renditions(a.renditions),
        "shard": s(ddb.shard_of(a.id)),
    }
    if a.status not in FINISHED:
        item["pending"] = s(ddb.shard_of(a.id))
    optional = {
        "error": a.error,
        "captured_at": to_db_time(a.captured_at),
        "parent_id": a.parent_id,
        "relation": a.relation.value if a.relation else None,
        "phash": a.phash,
    }
    item.update({name: s(value) for name, value in optional.items() if value is not None})
    return item


def _asset(item: Item) -> Asset:
    relation = opt_s(item, "relation")
    return Asset(
        id=item["id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        sha256=item["sha256"]["S"],
        size_bytes=to_int(item["size_bytes"]),
        media_type=item["media_type"]["S"],
        width=to_int(item["width"]),
        height=to_int(item["height"]),
        filename=item["filename"]["S"],
        blob_key=item["blob_key"]["S"],
        created_at=req_time(item, "created_at"),
        updated_at=req_time(item, "updated_at"),
        status=Stage(item["status"]["S"]),
        error=opt_s(item, "error"),
        orientation=to_int(item["orientation"]),
        captured_at=opt_time(item, "captured_at"),
        parent_id=opt_s(item, "parent_id"),
        relation=VersionRelation(relation) if relation else None,
        renditions=tuple(Rendition(*r) for r in json.loads(item["renditions"]["S"])),
        phash=opt_s(item, "phash"),
    )


@dataclass(frozen=True)
class _IndexPage:
    assets: tuple[Asset, ...]
    entries: int  # index entries read (assets may be fewer: the index lags behind deletions)
    last: str | None  # ID of the last entry: where the next page starts


def _phash_item(tenant_id: str, asset_id: str, phash: str) -> Item:
    """A compact copy of an asset's hash: similar_assets reads these, not whole assets."""
    return {
        **ddb.key(ddb.phash_pk(tenant_id), ddb.phash_sk(asset_id)),
        "asset_id": s(asset_id),
        "phash": s(phash),
    }


def _edge(tenant_id: str, parent_id: str, child_id: str) -> Item:
    return {**ddb.key(ddb.tenant_pk(tenant_id), ddb.child_sk(parent_id, child_id)), "child_id": s(child_id)}


class DynamoCatalog(DynamoTenants, DynamoRunHistory, DynamoBatches):
    """CatalogStore on DynamoDB, with an injected aiobotocore client (created once by the bootstrap)."""

    async def ensure_table(self) -> bool:
        return await ddb.ensure_table(self._client, self._table)

    # --- assets ---------------------------------------------------------------------------------------

    async def register_asset(self, asset: Asset) -> tuple[Asset, bool]:
        """One transaction: the asset, its content-hash guard and, for a version, the edge from its parent
        (which must be the tenant's). Concurrent registrations of the same bytes: one wins, the others
        see the guard taken and return the winner."""
        tenant = ddb.tenant_pk(asset.tenant_id)
        guard = {**ddb.key(tenant, ddb.sha_sk(asset.sha256)), "asset_id": s(asset.id)}
        actions = [put_new(self._table, _asset_item(asset)), put_new(self._table, guard)]
        if asset.parent_id:
            actions.append(exists_check(self._table, _asset_key(asset.tenant_id, asset.parent_id)))
            actions.append(put_new(self._table, _edge(asset.tenant_id, asset.parent_id, asset.id)))
        if asset.phash:
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _phash_item(asset.tenant_id, asset.id, asset.phash),
                    }
                }
            )
        for _ in range(ddb.ATTEMPTS):
            existing = await self.find_asset_by_sha256(asset.tenant_id, asset.sha256)
            if existing is not None:
                return existing, False
            try:
                await ddb.transact(self._client, actions)
                return asset, True
            except ddb.ConditionFailed as exc:
                failed = [i for i, code in enumerate(exc.reasons) if code == "ConditionalCheckFailed"]
                if 2 in failed:
                    raise LookupError(
                        f"no parent asset {asset.parent_id} in tenant {asset.tenant_id}"
                    ) from exc
                if 1 not in failed:
                    raise ddb.Conflict(f"asset ID {asset.id} is taken") from exc
                # the same bytes won a race: the next round reads that asset
        raise RuntimeError(f"could not register asset {asset.id}: its content hash kept changing hands")

    async def find_asset_by_sha256(self, tenant_id: str, sha256: str) -> Asset | None:
        guard = await self._get(ddb.tenant_pk(tenant_id), ddb.sha_sk(sha256))
        return await self.get_asset(tenant_id, guard["asset_id"]["S"]) if guard else None

    async def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        item = await self._get(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))
        return _asset(item) if item else None

    async def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Asset]:
        keys = [_asset_key(tenant_id, a) for a in asset_ids]
        return {(a := _asset(item)).id: a for item in await ddb.batch_get(self._client, self._table, keys)}

    async def list_assets(self, tenant_id: str | None, *, after: str | None, limit: int) -> list[Asset]:
        if limit <= 0:
            return []
        if tenant_id is None:
            return list((await self._walk_index(ddb.INDEX_ASSETS, "shard", after, limit)).assets)
        out: list[Asset] = []
        pages = ddb.query_pages(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": s(ddb.tenant_pk(tenant_id)),
                ":lo": s(ddb.asset_sk(after or "")),
                ":hi": s(ddb.ASSET_END),
            },
            Limit=limit + 1,  # BETWEEN is inclusive: the `after` asset itself may come first
        )
        async with aclosing(pages):
            async for page in pages:
                out.extend(a for a in map(_asset, page) if a.id != after)
                if len(out) >= limit:
                    break
        return out[:limit]

    async def assets_in_stages(
        self, tenant_id: str, stages: Sequence[Stage], *, after: str | None, limit: int
    ) -> list[Asset]:
        """A filtered walk of the tenant's asset range, newest first: it reads the range up to the page
        (fine for listing failures; a sparse index per stage would make it a key-range read)."""
        values = {f":s{i}": s(st.value) for i, st in enumerate(dict.fromkeys(stages))}
        if not values or limit <= 0:
            return []
        out: list[Asset] = []
        pages = ddb.query_pages(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            FilterExpression=f"#st IN ({', '.join(values)})",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":pk": s(ddb.tenant_pk(tenant_id)),
                ":lo": s(ddb.ASSET_PREFIX),
                ":hi": s(ddb.asset_sk(after) if after else ddb.ASSET_END),
                **values,
            },
            ScanIndexForward=False,
        )
        async with aclosing(pages):
            async for page in pages:
                out.extend(a for a in map(_asset, page) if a.id != after)
                if len(out) >= limit:
                    break
        return out[:limit]

    async def stage_counts(self, tenant_id: str) -> dict[Stage, int]:
        items = await ddb.query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": s(ddb.tenant_pk(tenant_id)),
                ":lo": s(ddb.ASSET_PREFIX),
                ":hi": s(ddb.ASSET_END),
            },
            ProjectionExpression="#st",
            ExpressionAttributeNames={"#st": "status"},
        )
        counts: dict[Stage, int] = {}
        for item in items:
            stage = Stage(item["status"]["S"])
            counts[stage] = counts.get(stage, 0) + 1
        return counts

    async def get_children(self, tenant_id: str, parent_ids: Sequence[str]) -> dict[str, list[Asset]]:
        parents = list(dict.fromkeys(parent_ids))
        edges = await ddb.bounded(
            [self._tenant_items(tenant_id, ddb.children_prefix(p), "child_id") for p in parents]
        )
        child_ids = {p: [e["child_id"]["S"] for e in found] for p, found in zip(parents, edges, strict=True)}
        children = await self.get_assets(tenant_id, [c for ids in child_ids.values() for c in ids])
        return {
            p: [children[c] for c in ids if c in children and children[c].parent_id == p]
            for p, ids in child_ids.items()
        }

    async def set_parent(
        self, tenant_id: str, asset_id: str, parent_id: str | None, relation: VersionRelation | None
    ) -> None:
        """Moves the edge with the link, optimistically: a concurrent change of the link means a retry.

        A parent that is not the tenant's asset leaves everything as it was (like a missing asset)."""
        if parent_id == asset_id:
            raise ValueError("an asset cannot be its own version")
        for attempt in range(ddb.ATTEMPTS):
            item = await self._get(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))
            if item is None:
                return
            old = opt_s(item, "parent_id")
            values: dict[str, Any] = {":u": time_s(utcnow())}
            if old is None:
                condition = "attribute_exists(PK) AND attribute_not_exists(parent_id)"
            else:
                condition, values[":old"] = "attribute_exists(PK) AND parent_id = :old", s(old)
            sets, removes = ["updated_at = :u"], []
            if parent_id is None:
                removes.append("parent_id")
            else:
                sets.append("parent_id = :p")
                values[":p"] = s(parent_id)
            if relation is None:
                removes.append("relation")
            else:
                sets.append("relation = :r")
                values[":r"] = s(relation.value)
            update = f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else "")
            actions: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _asset_key(tenant_id, asset_id),
                        "UpdateExpression": update,
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": values,
                    }
                }
            ]
            if old is not None and old != parent_id:
                edge = ddb.key(ddb.tenant_pk(tenant_id), ddb.child_sk(old, asset_id))
                actions.append({"Delete": {"TableName": self._table, "Key": edge}})
            if parent_id is not None:
                actions.append(exists_check(self._table, _asset_key(tenant_id, parent_id)))
                if old != parent_id:
                    actions.append(
                        {"Put": {"TableName": self._table, "Item": _edge(tenant_id, parent_id, asset_id)}}
                    )
            try:
                await ddb.transact(self._client, actions)
                return
            except ddb.ConditionFailed as exc:
                if exc.reasons[0] != "ConditionalCheckFailed":
                    return  # the parent is not this tenant's asset
            await ddb.backoff(attempt)
        raise RuntimeError(f"could not link asset {asset_id}: its parent kept changing")

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        """The asset, its results, its content-hash guard and its parent edge (children are the caller's)."""
        item = await self._get(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))
        if item is None:
            return
        items = await ddb.query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(ddb.result_pk(tenant_id, asset_id))},
            ProjectionExpression="PK, SK, run_id, asset_id, batch_id, model_version, analyzer, #chg",
            ExpressionAttributeNames={"#chg": "change"},
        )
        # runs, current copies, and the change summaries the runs left in batch / model-change partitions
        results = [ddb.key(i["PK"]["S"], i["SK"]["S"]) for i in items] + change_keys(tenant_id, items)
        tenant = ddb.tenant_pk(tenant_id)
        keys = [
            *results,
            ddb.key(tenant, ddb.sha_sk(item["sha256"]["S"])),
            ddb.key(ddb.phash_pk(tenant_id), ddb.phash_sk(asset_id)),
        ]
        parent = opt_s(item, "parent_id")
        if parent:
            keys.append(ddb.key(tenant, ddb.child_sk(parent, asset_id)))
        actions = [{"Delete": {"TableName": self._table, "Key": k}} for k in keys]
        actions[len(results)]["Delete"].update(  # the guard goes only if it is this asset's
            ConditionExpression="attribute_not_exists(PK) OR asset_id = :id",
            ExpressionAttributeValues={":id": s(asset_id)},
        )
        # the asset last: should a chunk fail, a retry finds the asset and finishes the job
        last = [{"Delete": {"TableName": self._table, "Key": _asset_key(tenant_id, asset_id)}}]
        actions += feed_tombstone(self._table, tenant_id, asset_id) + last
        await ddb.transact_chunks(self._client, actions)

    async def unfinished_assets(self, *, after: str | None, limit: int) -> list[Asset]:
        out: list[Asset] = []
        while len(out) < limit:
            want = limit - len(out)
            page = await self._walk_index(ddb.INDEX_UNFINISHED, "pending", after, want)
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
            found: list[Item] = []
            pages = ddb.query_pages(
                self._client,
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                Limit=limit,
            )
            async with aclosing(pages):
                async for page in pages:
                    found.extend(page)
                    if len(found) >= limit:
                        break
            return found

        shards = await asyncio.gather(*(shard_entries(shard) for shard in ddb.ALL_SHARDS))
        entries = sorted((e for shard in shards for e in shard), key=lambda e: str(e["id"]["S"]))[:limit]
        keys = [{"PK": e["PK"], "SK": e["SK"]} for e in entries]
        by_id = {(a := _asset(i)).id: a for i in await ddb.batch_get(self._client, self._table, keys)}
        ids = [str(e["id"]["S"]) for e in entries]
        return _IndexPage(tuple(by_id[i] for i in ids if i in by_id), len(ids), ids[-1] if ids else None)

    async def set_stage(self, tenant_id: str, asset_id: str, stage: Stage, error: str | None = None) -> None:
        sets = ["#st = :st", "updated_at = :u"]
        removes: list[str] = []
        values = {":st": s(stage.value), ":u": time_s(utcnow())}
        if error is None:
            removes.append("#er")
        else:
            sets.append("#er = :er")
            values[":er"] = s(error)
        if stage in FINISHED:
            removes.append("pending")
        else:
            sets.append("pending = :p")
            values[":p"] = s(ddb.shard_of(asset_id))
        await ddb.update_if_exists(
            self._client,
            TableName=self._table,
            Key=_asset_key(tenant_id, asset_id),
            UpdateExpression=f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else ""),
            ExpressionAttributeNames={"#st": "status", "#er": "error"},
            ExpressionAttributeValues=values,
        )

    async def set_renditions(self, tenant_id: str, asset_id: str, renditions: Sequence[Rendition]) -> None:
        await ddb.update_if_exists(
            self._client,
            TableName=self._table,
            Key=_asset_key(tenant_id, asset_id),
            UpdateExpression="SET renditions = :r, updated_at = :u",
            ExpressionAttributeValues={":r": _renditions(renditions), ":u": time_s(utcnow())},
        )

    async def set_phash(self, tenant_id: str, asset_id: str, phash: str) -> None:
        update = {
            "Update": {
                "TableName": self._table,
                "Key": _asset_key(tenant_id, asset_id),
                "UpdateExpression": "SET phash = :h",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":h": s(phash)},
            }
        }
        put = {"Put": {"TableName": self._table, "Item": _phash_item(tenant_id, asset_id, phash)}}
        with suppress(ddb.ConditionFailed):  # no such asset in this tenant: nothing to hash
            await ddb.transact(self._client, [update, put])

    async def similar_assets(
        self, tenant_id: str, phash: str, *, max_distance: int, limit: int
    ) -> list[tuple[str, int]]:
        """Brute force over the tenant's compact hash items (~60 bytes each: one 1 MB page per ~16k
        assets); a tenant with millions of assets wants a multi-index hash or a BK-tree instead."""
        items = await ddb.query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(ddb.phash_pk(tenant_id))},
            ProjectionExpression="asset_id, phash",
        )
        return nearest_hashes(
            phash, [(i["asset_id"]["S"], i["phash"]["S"]) for i in items], max_distance, limit
        )

    async def count_by_stage(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[Stage, int]:
        keys = [_asset_key(tenant_id, a) for a in asset_ids]
        items = await ddb.batch_get(
            self._client, self._table, keys, projection="#st", names={"#st": "status"}
        )
        counts: dict[Stage, int] = {}
        for item in items:
            stage = Stage(item["status"]["S"])
            counts[stage] = counts.get(stage, 0) + 1
        return counts
