"""Tenants and API keys in the scale-out catalog (layout: catalog.dynamodb.schema)."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import ALL_SCOPES, ApiKey, Scope, Tenant, TenantConfig
from catalog.domain.tenant_config import config_from_text, config_text
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import DynamoTable, exists_check, opt_time, put_new, req_time, time_s
from catalog.dynamodb.requests import (
    ConditionFailed,
    Conflict,
    batch_get,
    error_code,
    transact,
    update_if_exists,
)
from catalog.dynamodb.values import Item, s


def _tenant(item: Item) -> Tenant:
    config = config_from_text(item["config"]["S"])
    return Tenant(item["id"]["S"], item["name"]["S"], req_time(item, "created_at"), config)


def _config(config: TenantConfig) -> dict[str, str]:
    return s(config_text(config))


def _api_key_item(key: ApiKey) -> Item:
    return {
        **ddb.key(ddb.api_key_pk(key.key_hash), ddb.KEY_SK),
        "id": s(key.id),
        "tenant_id": s(key.tenant_id),
        "key_hash": s(key.key_hash),
        "created_at": time_s(key.created_at),
        "scopes": s(",".join(key.scopes)),
        "name": s(key.name),
    }


def _api_key(item: Item) -> ApiKey:
    return ApiKey(
        id=item["id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        key_hash=item["key_hash"]["S"],
        created_at=req_time(item, "created_at"),
        revoked_at=opt_time(item, "revoked_at"),
        scopes=tuple(Scope(x) for x in item["scopes"]["S"].split(",") if x),
        name=item["name"]["S"],
    )


class DynamoTenants(DynamoTable):
    """The tenant and key half of DynamoCatalog."""

    async def create_tenant(self, name: str) -> Tenant:
        tenant = Tenant(id=uuid7(), name=name, created_at=utcnow())
        tenant_item = {
            **ddb.key(ddb.tenant_pk(tenant.id), ddb.TENANT_SK),
            "id": s(tenant.id),
            "name": s(name),
            "created_at": time_s(tenant.created_at),
            "config": _config(tenant.config),
        }
        name_item = {**ddb.key(ddb.tenant_name_pk(name), ddb.TENANT_NAME_SK), "tenant_id": s(tenant.id)}
        try:
            await transact(self._client, [put_new(self._table, tenant_item), put_new(self._table, name_item)])
        except ConditionFailed as exc:
            raise Conflict(f"a tenant named {name!r} exists already") from exc
        return tenant

    async def get_tenant_by_name(self, name: str) -> Tenant | None:
        guard = await self._get(ddb.tenant_name_pk(name), ddb.TENANT_NAME_SK)
        return await self.get_tenant(guard["tenant_id"]["S"]) if guard else None

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        item = await self._get(ddb.tenant_pk(tenant_id), ddb.TENANT_SK)
        return _tenant(item) if item else None

    async def set_tenant_config(self, tenant_id: str, config: TenantConfig) -> None:
        await update_if_exists(
            self._client,
            TableName=self._table,
            Key=ddb.key(ddb.tenant_pk(tenant_id), ddb.TENANT_SK),
            UpdateExpression="SET config = :c",
            ExpressionAttributeValues={":c": _config(config)},
        )

    async def add_api_key(
        self, tenant_id: str, key_hash: str, scopes: Sequence[Scope] = ALL_SCOPES, name: str = ""
    ) -> ApiKey:
        """The key by its hash (what authentication reads) and a pointer in the tenant's partition."""
        key = ApiKey(uuid7(), tenant_id, key_hash, utcnow(), None, tuple(scopes), name)
        tenant = ddb.tenant_pk(tenant_id)
        pointer = {**ddb.key(tenant, ddb.api_key_sk(key.id)), "key_hash": s(key_hash)}
        actions = [
            exists_check(self._table, ddb.key(tenant, ddb.TENANT_SK)),
            put_new(self._table, _api_key_item(key)),
            put_new(self._table, pointer),
        ]
        try:
            await transact(self._client, actions)
        except ConditionFailed as exc:
            if exc.reasons[0] == "ConditionalCheckFailed":
                raise LookupError(f"no tenant {tenant_id}") from exc
            raise Conflict("this API key is registered already") from exc
        return key

    async def find_api_key(self, key_hash: str) -> ApiKey | None:
        item = await self._get(ddb.api_key_pk(key_hash), ddb.KEY_SK)
        return _api_key(item) if item else None

    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        pointers = await self._tenant_items(tenant_id, ddb.api_key_sk(""), "key_hash")
        keys = [ddb.key(ddb.api_key_pk(p["key_hash"]["S"]), ddb.KEY_SK) for p in pointers]
        found = [_api_key(i) for i in await batch_get(self._client, self._table, keys)]
        return sorted((k for k in found if k.tenant_id == tenant_id), key=lambda k: k.id)

    async def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        pointer = await self._get(ddb.tenant_pk(tenant_id), ddb.api_key_sk(key_id))
        if pointer is None:
            return False
        try:
            await self._client.update_item(
                TableName=self._table,
                Key=ddb.key(ddb.api_key_pk(pointer["key_hash"]["S"]), ddb.KEY_SK),
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="tenant_id = :t AND attribute_not_exists(revoked_at)",
                ExpressionAttributeValues={":now": time_s(utcnow()), ":t": s(tenant_id)},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
