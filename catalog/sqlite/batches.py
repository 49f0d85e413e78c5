"""Reprocessing batches in the embedded catalog: one row per batch with its counters, one per item."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from catalog.domain.clock import from_db_time, to_db_time
from catalog.domain.model import ReprocessBatch
from catalog.domain.run_ports import BatchItemState, check_selection
from catalog.sqlite import preparations as sqlite_preparations
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.preparations import SqlitePreparations, insert_items

_TABLES = """
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    analyzers TEXT NOT NULL,
    provider TEXT,
    parameters TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    enqueued INTEGER NOT NULL DEFAULT 0,
    outdated_only INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batch_items (
    batch_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (batch_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batch_items_by_state ON batch_items (batch_id, state, asset_id);
"""
SCHEMA = _TABLES + sqlite_preparations.SCHEMA
_SELECT = (
    "SELECT b.*, p.selection, p.error, p.enqueued_through, p.heartbeat_at, c.until AS claimed_until "
    "FROM batches b LEFT JOIN batch_preparations p ON p.batch_id = b.id "
    "LEFT JOIN batch_claims c ON c.batch_id = b.id "
)


def _batch(row: sqlite3.Row) -> ReprocessBatch:
    created = from_db_time(row["created_at"])
    assert created is not None
    return ReprocessBatch(
        id=row["id"],
        tenant_id=row["tenant_id"],
        analyzers=tuple(json.loads(row["analyzers"])),
        provider=row["provider"],
        parameters=json.loads(row["parameters"]),
        total=row["total"],
        done=row["done"],
        failed=row["failed"],
        created_at=created,
        enqueued=bool(row["enqueued"]),
        selection=row["selection"],
        outdated_only=bool(row["outdated_only"]),
        error=row["error"] or "",
        enqueued_through=row["enqueued_through"],
        heartbeat_at=from_db_time(row["heartbeat_at"]),
        claimed_until=from_db_time(row["claimed_until"]),
    )


def _owned(conn: sqlite3.Connection, tenant_id: str, batch_id: str) -> bool:
    found = conn.execute("SELECT 1 FROM batches WHERE tenant_id = ? AND id = ?", (tenant_id, batch_id))
    return found.fetchone() is not None


class SqliteBatches(SqlitePreparations):
    """The batch half of RunHistory for SqliteCatalog."""

    _db: SqliteDb

    async def create_batch(self, batch: ReprocessBatch, asset_ids: Sequence[str]) -> None:
        check_selection(batch)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO batches (id, tenant_id, analyzers, provider, parameters, total, created_at, "
                "outdated_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (batch.id, batch.tenant_id, json.dumps(list(batch.analyzers)), batch.provider,
                 json.dumps(batch.parameters, sort_keys=True), len(asset_ids), to_db_time(batch.created_at),
                 int(batch.outdated_only)),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO batch_preparations (batch_id, selection) VALUES (?, ?)",
                (batch.id, batch.selection),
            )
            insert_items(conn, batch.id, asset_ids)

        await self._db.write(insert)

    async def get_batch(self, tenant_id: str, batch_id: str) -> ReprocessBatch | None:
        row = await self._db.read(
            lambda c: c.execute(
                _SELECT + "WHERE b.tenant_id = ? AND b.id = ?", (tenant_id, batch_id)
            ).fetchone()
        )
        return _batch(row) if row else None

    async def list_batches(self, tenant_id: str, *, limit: int) -> list[ReprocessBatch]:
        rows = await self._db.read(
            lambda c: c.execute(
                _SELECT + "WHERE b.tenant_id = ? ORDER BY b.id DESC LIMIT ?", (tenant_id, limit)
            ).fetchall()
        )
        return [_batch(r) for r in rows]

    async def batch_failures(self, tenant_id: str, batch_id: str, *, limit: int) -> list[tuple[str, str]]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT i.asset_id, i.error FROM batch_items i JOIN batches b ON b.id = i.batch_id "
                "WHERE b.tenant_id = ? AND i.batch_id = ? AND i.state = ? ORDER BY i.asset_id LIMIT ?",
                (tenant_id, batch_id, BatchItemState.FAILED, limit),
            ).fetchall()
        )
        return [(r["asset_id"], r["error"]) for r in rows]

    async def batch_items(
        self, tenant_id: str, batch_id: str, state: str, *, after: str | None, limit: int
    ) -> list[str]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT i.asset_id FROM batch_items i JOIN batches b ON b.id = i.batch_id "
                "WHERE b.tenant_id = ? AND i.batch_id = ? AND i.state = ? AND i.asset_id > ? "
                "ORDER BY i.asset_id LIMIT ?",
                (tenant_id, batch_id, state, after or "", limit),
            ).fetchall()
        )
        return [r["asset_id"] for r in rows]

    async def batch_item_state(self, tenant_id: str, batch_id: str, asset_id: str) -> str | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT i.state FROM batch_items i JOIN batches b ON b.id = i.batch_id "
                "WHERE b.tenant_id = ? AND i.batch_id = ? AND i.asset_id = ?",
                (tenant_id, batch_id, asset_id),
            ).fetchone()
        )
        return row["state"] if row else None

    async def finish_batch_item(
        self, tenant_id: str, batch_id: str, asset_id: str, *, failed: bool, error: str = ""
    ) -> bool:
        state = BatchItemState.FAILED if failed else BatchItemState.DONE

        def finish(conn: sqlite3.Connection) -> bool:
            if not _owned(conn, tenant_id, batch_id):
                return False
            cur = conn.execute(
                "UPDATE batch_items SET state = ?, error = ? "
                "WHERE batch_id = ? AND asset_id = ? AND state = ?",
                (state, error, batch_id, asset_id, BatchItemState.PENDING),
            )
            if cur.rowcount == 0:
                return False
            column = "failed" if failed else "done"
            conn.execute(f"UPDATE batches SET {column} = {column} + 1 WHERE id = ?", (batch_id,))
            return True

        return await self._db.write(finish)

    async def unenqueued_batches(self) -> list[ReprocessBatch]:
        rows = await self._db.read(
            lambda c: c.execute(_SELECT + "WHERE b.enqueued = 0 ORDER BY b.id").fetchall()
        )
        return [_batch(r) for r in rows]
