"""Deleting a tenant from the scale-out catalog: every item of the shared table that belongs to it.

Every item of a tenant names it, either in its partition key ("TENANT#<id>...", batch, change-feed and
model-change partitions) or in a `tenant_id` attribute (its name guard and API keys, keyed by name and key
hash), so one Scan finds them all, including item kinds added after this was written. A Scan reads the whole
table: fine for a rare administrator's command, not for a request path.
"""

from __future__ import annotations

from typing import Any

from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.requests import batch_delete
from catalog.dynamodb.values import Item, s

# The items `delete_tenant` removes last: the tenant, its name guard, its API keys.
_IDENTITY_SKS = {ddb.TENANT_SK, ddb.TENANT_NAME_SK, ddb.KEY_SK}


class DynamoTenantPurge(DynamoTable):
    """The tenant-deletion half of DynamoCatalog."""

    async def delete_tenant_data(self, tenant_id: str) -> int:
        keys = [k for k in await self._tenant_keys(tenant_id) if k["SK"]["S"] not in _IDENTITY_SKS]
        await batch_delete(self._client, self._table, keys)
        return len(keys)

    async def delete_tenant(self, tenant_id: str) -> None:
        keys = await self._tenant_keys(tenant_id)
        tenant = ddb.key(ddb.tenant_pk(tenant_id), ddb.TENANT_SK)
        # the tenant item last: while it exists, running the deletion again finds the tenant and finishes
        await batch_delete(self._client, self._table, [k for k in keys if k != tenant])
        await batch_delete(self._client, self._table, [tenant])

    async def _tenant_keys(self, tenant_id: str) -> list[Item]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "contains(PK, :t) OR tenant_id = :id",
            "ExpressionAttributeValues": {":t": s(tenant_id), ":id": s(tenant_id)},
            "ProjectionExpression": "PK, SK",
            "ConsistentRead": True,
        }
        found: list[Item] = []
        while True:
            page = await self._client.scan(**request)
            found += [ddb.key(i["PK"]["S"], i["SK"]["S"]) for i in page.get("Items", ())]
            if not (last := page.get("LastEvaluatedKey")):
                return found
            request["ExclusiveStartKey"] = last
