"""Tenants and their API keys in the embedded catalog (a mixin of SqliteCatalog, over its SqliteDb)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from catalog.domain.clock import from_db_time, to_db_time, utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import ALL_SCOPES, ApiKey, Scope, Tenant, TenantConfig
from catalog.domain.tenant_config import config_from_text, config_text
from catalog.sqlite.db import SqliteDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    scopes TEXT NOT NULL DEFAULT 'read,write,admin',
    name TEXT NOT NULL DEFAULT ''
);
"""


def _api_key(row: sqlite3.Row) -> ApiKey:
    created = from_db_time(row["created_at"])
    assert created is not None
    scopes = tuple(Scope(s) for s in row["scopes"].split(",") if s)
    return ApiKey(
        row["id"],
        row["tenant_id"],
        row["key_hash"],
        created,
        from_db_time(row["revoked_at"]),
        scopes,
        row["name"],
    )


def _tenant(row: sqlite3.Row) -> Tenant:
    created = from_db_time(row["created_at"])
    assert created is not None
    return Tenant(id=row["id"], name=row["name"], created_at=created, config=config_from_text(row["config"]))


class SqliteTenants:
    _db: SqliteDb

    async def create_tenant(self, name: str) -> Tenant:
        tenant = Tenant(id=uuid7(), name=name, created_at=utcnow())

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
                (tenant.id, tenant.name, to_db_time(tenant.created_at)),
            )

        await self._db.write(insert)
        return tenant

    async def get_tenant_by_name(self, name: str) -> Tenant | None:
        row = await self._db.read(
            lambda c: c.execute("SELECT * FROM tenants WHERE name = ?", (name,)).fetchone()
        )
        return _tenant(row) if row else None

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = await self._db.read(
            lambda c: c.execute("SELECT * FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
        )
        return _tenant(row) if row else None

    async def set_tenant_config(self, tenant_id: str, config: TenantConfig) -> None:
        payload = config_text(config)
        await self._db.write(
            lambda c: c.execute("UPDATE tenants SET config = ? WHERE id = ?", (payload, tenant_id))
        )

    async def add_api_key(
        self, tenant_id: str, key_hash: str, scopes: Sequence[Scope] = ALL_SCOPES, name: str = ""
    ) -> ApiKey:
        key = ApiKey(uuid7(), tenant_id, key_hash, utcnow(), None, tuple(scopes), name)
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO api_keys (id, tenant_id, key_hash, created_at, scopes, name) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key.id, key.tenant_id, key.key_hash, to_db_time(key.created_at), ",".join(key.scopes), name),
            )
        )
        return key

    async def find_api_key(self, key_hash: str) -> ApiKey | None:
        row = await self._db.read(
            lambda c: c.execute("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
        )
        return _api_key(row) if row else None

    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY id", (tenant_id,)
            ).fetchall()
        )
        return [_api_key(r) for r in rows]

    async def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        def revoke(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL",
                (to_db_time(utcnow()), tenant_id, key_id),
            )
            return cur.rowcount == 1

        return await self._db.write(revoke)
