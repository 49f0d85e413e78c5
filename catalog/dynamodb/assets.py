"""Assets one at a time in the scale-out catalog: register, read, update, delete (items: see
catalog.dynamodb.asset_items).

Registration and deletion keep the tenant's asset count (32 shard items, see catalog.dynamodb.schema) in
the same transaction as the asset item, so the count is exact: an asset item carries `counted` while it
is in the count, and the delete that removes it is conditional on what it read of that mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from botocore.exceptions import ClientError

from catalog.domain.clock import utcnow
from catalog.domain.model import Asset, Rendition, Stage
from catalog.domain.phash import nearest_hashes
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import (
    COUNTED,
    asset_from_item,
    asset_item,
    asset_key,
    count_update,
    counted,
    edge_item,
    phash_item,
    renditions_value,
    stage_clauses,
)
from catalog.dynamodb.base import DynamoTable, exists_check, put_new, set_remove, time_s
from catalog.dynamodb.concept_scores import pointed_score_keys
from catalog.dynamodb.requests import (
    ATTEMPTS,
    ConditionFailed,
    Conflict,
    backoff,
    batch_get,
    error_code,
    query_all,
    transact,
    transact_chunks,
    update_if_exists,
)
from catalog.dynamodb.run_items import change_keys, feed_tombstone
from catalog.dynamodb.values import Item, opt_s, s

_STAGE_NAMES = {"#st": "status", "#er": "error"}


def _stage_update(
    tenant_id: str, asset_id: str, stage: Stage, error: str | None = None
) -> tuple[list[str], list[str], Item]:
    """SET clauses, attributes to REMOVE and values that put an asset in `stage` (with `error` or none)."""
    sets, removes, values = stage_clauses(tenant_id, asset_id, stage)
    sets += ["#st = :st"]
    values[":st"] = s(stage.value)
    if error is None:
        removes.append("#er")
    else:
        sets.append("#er = :er")
        values[":er"] = s(error)
    return sets, removes, values


class DynamoAssets(DynamoTable):
    """The single-asset half of CatalogStore for DynamoCatalog."""

    async def register_asset(self, asset: Asset) -> tuple[Asset, bool]:
        """One transaction: the asset, its content-hash guard and, for a version, the edge from its parent
        (which must be the tenant's), and its place in the tenant's asset count (a keyframe has none).
        Concurrent registrations of the same bytes: one wins, the others see the guard taken and return
        the winner."""
        tenant = ddb.tenant_pk(asset.tenant_id)
        guard = {**ddb.key(tenant, ddb.sha_sk(asset.sha256)), "asset_id": s(asset.id)}
        actions = [put_new(self._table, asset_item(asset)), put_new(self._table, guard)]
        if asset.parent_id:
            actions.append(exists_check(self._table, asset_key(asset.tenant_id, asset.parent_id)))
            actions.append(put_new(self._table, edge_item(asset.tenant_id, asset.parent_id, asset.id)))
        if asset.phash:
            actions.append(self._put(phash_item(asset.tenant_id, asset.id, asset.phash)))
        if counted(asset):
            actions.append(count_update(self._table, asset.tenant_id, asset.id, +1))
        for _ in range(ATTEMPTS):
            existing = await self.find_asset_by_sha256(asset.tenant_id, asset.sha256)
            if existing is not None:
                return existing, False
            try:
                await transact(self._client, actions)
                return asset, True
            except ConditionFailed as exc:
                failed = [i for i, code in enumerate(exc.reasons) if code == "ConditionalCheckFailed"]
                if 2 in failed:
                    raise LookupError(
                        f"no parent asset {asset.parent_id} in tenant {asset.tenant_id}"
                    ) from exc
                if 1 not in failed:
                    raise Conflict(f"asset ID {asset.id} is taken") from exc
                # the same bytes won a race: the next round reads that asset
        raise RuntimeError(f"could not register asset {asset.id}: its content hash kept changing hands")

    async def find_asset_by_sha256(self, tenant_id: str, sha256: str) -> Asset | None:
        guard = await self._get(ddb.tenant_pk(tenant_id), ddb.sha_sk(sha256))
        return await self.get_asset(tenant_id, guard["asset_id"]["S"]) if guard else None

    async def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        item = await self._get(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))
        return asset_from_item(item) if item else None

    async def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Asset]:
        keys = [asset_key(tenant_id, a) for a in asset_ids]
        items = await batch_get(self._client, self._table, keys)
        return {(a := asset_from_item(item)).id: a for item in items}

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        """The asset, its results, its content-hash guard and its parent edge (children are the caller's)."""
        item = await self._get(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))
        if item is None:
            return
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(ddb.result_pk(tenant_id, asset_id))},
            ProjectionExpression="PK, SK, run_id, asset_id, batch_id, model_version, analyzer, #chg, "
            "score_pk, score_sk",
            ExpressionAttributeNames={"#chg": "change"},
        )
        # runs, current copies, the change summaries the runs left in batch / model-change partitions, and
        # the concept scores its score pointers name
        results = [
            *(ddb.key(i["PK"]["S"], i["SK"]["S"]) for i in items),
            *change_keys(tenant_id, items),
            *pointed_score_keys(items),
        ]
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
        await transact_chunks(self._client, actions)
        # the asset last: should a chunk fail, a retry finds the asset and finishes the job
        await self._delete_asset_item(tenant_id, asset_id, item)

    async def _delete_asset_item(self, tenant_id: str, asset_id: str, item: Item) -> None:
        """The asset item with its feed tombstone and, if it is counted, its place in the asset count."""
        for attempt in range(ATTEMPTS):
            in_count = COUNTED in item
            delete = {
                "Delete": {
                    "TableName": self._table,
                    "Key": asset_key(tenant_id, asset_id),
                    "ConditionExpression": f"attribute_exists({COUNTED})"
                    if in_count
                    else f"attribute_exists(PK) AND attribute_not_exists({COUNTED})",
                }
            }
            actions = [*feed_tombstone(self._table, tenant_id, asset_id), delete]
            if in_count:
                actions.append(count_update(self._table, tenant_id, asset_id, -1))
            try:
                await transact(self._client, actions)
                return
            except ConditionFailed:  # deleted meanwhile, or counted by the stage-index backfill
                found = await self._get(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))
                if found is None:
                    return
                item = found
            await backoff(attempt)
        raise RuntimeError(f"could not delete asset {asset_id}: it kept changing")

    async def set_stage(self, tenant_id: str, asset_id: str, stage: Stage, error: str | None = None) -> None:
        sets, removes, values = _stage_update(tenant_id, asset_id, stage, error)
        sets.append("updated_at = :u")
        values[":u"] = time_s(utcnow())
        await update_if_exists(
            self._client,
            TableName=self._table,
            Key=asset_key(tenant_id, asset_id),
            UpdateExpression=set_remove(sets, removes),
            ExpressionAttributeNames=_STAGE_NAMES,
            ExpressionAttributeValues=values,
        )

    async def set_renditions(
        self,
        tenant_id: str,
        asset_id: str,
        renditions: Sequence[Rendition],
        *,
        phash: str | None = None,
        stage: Stage | None = None,
    ) -> None:
        sets, removes, values = (
            _stage_update(tenant_id, asset_id, stage) if stage is not None else ([], [], {})
        )
        sets += ["renditions = :r", "updated_at = :u"]
        values.update({":r": renditions_value(renditions), ":u": time_s(utcnow())})
        if phash is not None:
            sets.append("phash = :h")
            values[":h"] = s(phash)
        key = asset_key(tenant_id, asset_id)
        names = _STAGE_NAMES if stage is not None else None
        if phash is None:
            await update_if_exists(
                self._client,
                TableName=self._table,
                Key=key,
                UpdateExpression=set_remove(sets, removes),
                **({"ExpressionAttributeNames": names} if names else {}),
                ExpressionAttributeValues=values,
            )
            return
        update = self._update(key, set_remove(sets, removes), values, names=names)
        await self._hashed(tenant_id, asset_id, phash, update)

    async def set_phash(self, tenant_id: str, asset_id: str, phash: str) -> None:
        update = self._update(asset_key(tenant_id, asset_id), "SET phash = :h", {":h": s(phash)})
        await self._hashed(tenant_id, asset_id, phash, update)

    async def _hashed(self, tenant_id: str, asset_id: str, phash: str, update: dict[str, Any]) -> None:
        """The asset's update with its hash, and the compact copy of the hash, in one transaction."""
        put = self._put(phash_item(tenant_id, asset_id, phash))
        with suppress(ConditionFailed):  # no such asset in this tenant: nothing to hash
            await transact(self._client, [update, put])

    async def add_filename(self, tenant_id: str, asset_id: str, filename: str) -> bool:
        try:
            await self._client.update_item(
                TableName=self._table,
                Key=asset_key(tenant_id, asset_id),
                UpdateExpression="SET other_names = list_append(if_not_exists(other_names, :none), :name)",
                ConditionExpression=(
                    "attribute_exists(PK) AND filename <> :n AND NOT contains(other_names, :n)"
                ),
                ExpressionAttributeValues={
                    ":none": {"L": []},
                    ":name": {"L": [s(filename)]},
                    ":n": s(filename),
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False  # no such asset in this tenant, or it has the name already
            raise
        return True

    async def join_archive(self, tenant_id: str, asset_id: str) -> bool:
        try:
            await self._client.update_item(
                TableName=self._table,
                Key=asset_key(tenant_id, asset_id),
                UpdateExpression="REMOVE training_example",
                ConditionExpression="attribute_exists(PK) AND training_example = :yes",
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False  # no such asset in this tenant, or not a training example
            raise
        return True

    async def similar_assets(
        self, tenant_id: str, phash: str, *, max_distance: int, limit: int
    ) -> list[tuple[str, int]]:
        """Brute force over the tenant's compact hash items (~60 bytes each: one 1 MB page per ~16k
        assets); a tenant with millions of assets wants a multi-index hash or a BK-tree instead."""
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(ddb.phash_pk(tenant_id))},
            ProjectionExpression="asset_id, phash",
        )
        return nearest_hashes(
            phash, [(i["asset_id"]["S"], i["phash"]["S"]) for i in items], max_distance, limit
        )
