"""TenantStore contract: tenants and API keys, on every catalog adapter (SQLite, DynamoDB Local)."""

from __future__ import annotations

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import (
    ALL_SCOPES,
    Scope,
    TenantConfig,
)
from catalog.domain.ports import TenantStore
from tests.contract.catalogs import CONFLICT, backend, catalog, tenants

__all__ = ["backend", "catalog"]


async def test_tenants(catalog: TenantStore) -> None:
    acme = await catalog.create_tenant("acme")
    assert await catalog.get_tenant(acme.id) == acme
    assert await catalog.get_tenant_by_name("acme") == acme
    assert acme.config == TenantConfig()
    assert await catalog.get_tenant(uuid7()) is None
    assert await catalog.get_tenant_by_name("Acme") is None
    with pytest.raises(CONFLICT):
        await catalog.create_tenant("acme")

    config = TenantConfig(
        analyzers=("labels", "faces"),
        providers={"labels": "rekognition"},
        synonyms=(("Car", "Automobile"),),
        parameters={"text": {"thorough": True}, "labels": {"min_confidence": 60.0, "max_labels": 8}},
    )
    await catalog.set_tenant_config(acme.id, config)
    stored = await catalog.get_tenant_by_name("acme")
    assert stored is not None and stored.config == config
    await catalog.set_tenant_config(acme.id, TenantConfig(analyzers=()))
    stored = await catalog.get_tenant(acme.id)
    assert stored is not None and stored.config == TenantConfig(analyzers=())
    beta = await catalog.create_tenant("beta")
    assert [t.name for t in await catalog.list_tenants()] == ["acme", "beta"]
    assert (await catalog.list_tenants())[1] == beta


async def test_api_keys(catalog: TenantStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    key = await catalog.add_api_key(a, "a" * 64)
    assert (key.tenant_id, key.key_hash, key.revoked_at, key.scopes, key.name) == (
        a,
        "a" * 64,
        None,
        ALL_SCOPES,
        "",
    )
    reader = await catalog.add_api_key(a, "r" * 64, [Scope.READ], "dashboard")
    await catalog.add_api_key(b, "b" * 64)
    assert await catalog.find_api_key("a" * 64) == key
    assert await catalog.find_api_key("r" * 64) == reader
    assert await catalog.find_api_key("x" * 64) is None
    assert await catalog.list_api_keys(a) == [key, reader]
    with pytest.raises(CONFLICT):
        await catalog.add_api_key(a, "a" * 64)

    assert not await catalog.revoke_api_key(b, reader.id)  # not b's key
    assert await catalog.revoke_api_key(a, reader.id)
    assert not await catalog.revoke_api_key(a, reader.id)  # revoked already
    revoked = await catalog.find_api_key("r" * 64)
    assert revoked is not None and revoked.revoked_at is not None
    assert [k.revoked_at is None for k in await catalog.list_api_keys(a)] == [True, False]
    assert [k.key_hash for k in await catalog.list_api_keys(b)] == ["b" * 64]
