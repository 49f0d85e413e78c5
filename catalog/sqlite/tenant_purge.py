"""Deleting a tenant from the embedded catalog database (a mixin of SqliteCatalog).

The tenant's rows are found from the schema: every table with a `tenant_id` column (assets, runs, faces,
persons, jobs, webhooks, ... and tables added later), plus the tables keyed by the tenant's batches. Large
tables are deleted in chunks, one transaction each, so workers of other tenants never wait long for the
writer lock.
"""

from __future__ import annotations

import functools
import sqlite3

from catalog.sqlite.db import SqliteDb

CHUNK = 5_000
_BATCH_TABLES = ("batch_items", "batch_preparations", "batch_claims")  # keyed by batch_id, not tenant
_IDENTITY = ("api_keys", "tenants")  # removed last, by delete_tenant


def _tenant_tables(conn: sqlite3.Connection) -> list[tuple[str, bool]]:
    """(table, has rowid) of every table with a tenant_id column, each before the tables it references
    (foreign keys are enforced: a person goes after the faces named as it)."""
    found: dict[str, bool] = {}
    references: dict[str, set[str]] = {}
    for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"):
        columns = {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
        if "tenant_id" in columns and name not in _IDENTITY:
            found[name] = "WITHOUT ROWID" not in sql.upper()
            references[name] = {row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(table: str) -> None:  # referencing tables first: a depth-first walk over "is referenced by"
        if table in seen:
            return
        seen.add(table)
        for other, targets in references.items():
            if table in targets and other != table:
                visit(other)
        ordered.append(table)

    for table in sorted(found):
        visit(table)
    return [(table, found[table]) for table in ordered]


class SqliteTenantPurge:
    _db: SqliteDb

    async def delete_tenant_data(self, tenant_id: str) -> int:
        tables = await self._db.read(_tenant_tables)
        deleted = await self._db.write(lambda c: _delete_batch_rows(c, tenant_id))
        for table, has_rowid in tables:
            while True:
                count = await self._db.write(
                    functools.partial(_delete_chunk, table=table, has_rowid=has_rowid, tenant_id=tenant_id)
                )
                deleted += count
                if count < CHUNK:
                    break
        return deleted

    async def delete_tenant(self, tenant_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM api_keys WHERE tenant_id = ?", (tenant_id,))
            conn.execute("DELETE FROM tenants WHERE id = ?", (tenant_id,))

        await self._db.write(delete)


def _delete_batch_rows(conn: sqlite3.Connection, tenant_id: str) -> int:
    # the batch tables are part of the catalog's schema (catalog.sqlite.batches): always there
    return sum(
        conn.execute(
            f"DELETE FROM {table} WHERE batch_id IN (SELECT id FROM batches WHERE tenant_id = ?)",
            (tenant_id,),
        ).rowcount
        for table in _BATCH_TABLES
    )


def _delete_chunk(conn: sqlite3.Connection, *, table: str, has_rowid: bool, tenant_id: str) -> int:
    if not has_rowid:  # no rowid to page by: small tables (webhooks, persons ...) go in one statement
        return conn.execute(f'DELETE FROM "{table}" WHERE tenant_id = ?', (tenant_id,)).rowcount
    return conn.execute(
        f'DELETE FROM "{table}" WHERE rowid IN (SELECT rowid FROM "{table}" WHERE tenant_id = ? LIMIT ?)',
        (tenant_id, CHUNK),
    ).rowcount
