"""The version tree in the scale-out catalog: an asset's parent link, and edge items under the tenant
(CHILD#<parent>#<child>) written in the same transaction, so a parent's versions read back consistently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.domain.clock import utcnow
from catalog.domain.model import Asset, VersionRelation
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import asset_key, edge_item
from catalog.dynamodb.assets import DynamoAssets
from catalog.dynamodb.base import exists_check, set_remove, time_s
from catalog.dynamodb.requests import ATTEMPTS, ConditionFailed, backoff, bounded, transact
from catalog.dynamodb.values import opt_s, s


class DynamoVersions(DynamoAssets):
    """Parents and children for DynamoCatalog (reads children through DynamoAssets.get_assets)."""

    async def get_children(self, tenant_id: str, parent_ids: Sequence[str]) -> dict[str, list[Asset]]:
        parents = list(dict.fromkeys(parent_ids))
        edges = await bounded(
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
        for attempt in range(ATTEMPTS):
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
            update = set_remove(sets, removes)
            actions = [self._update(asset_key(tenant_id, asset_id), update, values, condition=condition)]
            if old is not None and old != parent_id:
                edge = ddb.key(ddb.tenant_pk(tenant_id), ddb.child_sk(old, asset_id))
                actions.append({"Delete": {"TableName": self._table, "Key": edge}})
            if parent_id is not None:
                actions.append(exists_check(self._table, asset_key(tenant_id, parent_id)))
                if old != parent_id:
                    actions.append(self._put(edge_item(tenant_id, parent_id, asset_id)))
            try:
                await transact(self._client, actions)
                return
            except ConditionFailed as exc:
                if exc.reasons[0] != "ConditionalCheckFailed":
                    return  # the parent is not this tenant's asset
            await backoff(attempt)
        raise RuntimeError(f"could not link asset {asset_id}: its parent kept changing")
