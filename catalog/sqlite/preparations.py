"""How a reprocessing batch is prepared, in the embedded catalog: its selection, checkpoint, heartbeat and
the claim of the run preparing it (catalog.domain.run_ports.Claim). Every write is one transaction, so a
check of the claim and the write it guards cannot be separated."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from catalog.domain.clock import from_db_time, to_db_time, utcnow
from catalog.domain.run_ports import BatchItemState, Claim
from catalog.sqlite.db import SqliteDb

T = TypeVar("T")

# Tables beside `batches`, so catalogs made before them need no migration.
SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_preparations (
    batch_id TEXT PRIMARY KEY,
    selection TEXT,
    error TEXT NOT NULL DEFAULT '',
    enqueued_through TEXT,
    heartbeat_at TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch_claims (
    batch_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until TEXT NOT NULL
) WITHOUT ROWID;
"""


def insert_items(conn: sqlite3.Connection, batch_id: str, asset_ids: Sequence[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO batch_items (batch_id, asset_id, state) VALUES (?, ?, ?)",
        [(batch_id, a, BatchItemState.PENDING) for a in asset_ids],
    )


def _state(conn: sqlite3.Connection, tenant_id: str, batch_id: str) -> sqlite3.Row | None:
    """The batch's preparation state (None if the tenant has no such batch); its row is made if missing."""
    found = conn.execute("SELECT enqueued FROM batches WHERE tenant_id = ? AND id = ?", (tenant_id, batch_id))
    if found.fetchone() is None:
        return None
    conn.execute("INSERT OR IGNORE INTO batch_preparations (batch_id) VALUES (?)", (batch_id,))
    row: sqlite3.Row = conn.execute(
        "SELECT b.enqueued, b.total, p.selection, p.error, c.owner, c.until FROM batches b "
        "JOIN batch_preparations p ON p.batch_id = b.id LEFT JOIN batch_claims c ON c.batch_id = b.id "
        "WHERE b.id = ?",
        (batch_id,),
    ).fetchone()
    return row


def _holds(row: sqlite3.Row, claim: Claim | None) -> bool:
    if claim is None:
        return True
    until = from_db_time(row["until"])
    return row["owner"] == claim.owner and until is not None and until > utcnow()


def _beat(conn: sqlite3.Connection, batch_id: str, claim: Claim | None) -> None:
    """Heartbeat, and renew the claim if one is given."""
    now = utcnow()
    conn.execute(
        "UPDATE batch_preparations SET heartbeat_at = ? WHERE batch_id = ?", (to_db_time(now), batch_id)
    )
    if claim is not None:
        conn.execute(
            "INSERT INTO batch_claims (batch_id, owner, until) VALUES (?, ?, ?) "
            "ON CONFLICT (batch_id) DO UPDATE SET owner = excluded.owner, until = excluded.until",
            (batch_id, claim.owner, to_db_time(now + claim.lease)),
        )


class SqlitePreparations:
    """The preparation half of the batch methods of RunHistory for SqliteCatalog."""

    _db: SqliteDb

    async def _guarded(
        self,
        tenant_id: str,
        batch_id: str,
        claim: Claim | None,
        write: Callable[[sqlite3.Connection, sqlite3.Row], T],
        refused: T,
    ) -> T:
        """Run `write` in one transaction if the batch exists and the claim (if given) holds."""

        def run(conn: sqlite3.Connection) -> T:
            row = _state(conn, tenant_id, batch_id)
            return write(conn, row) if row is not None and _holds(row, claim) else refused

        return await self._db.write(run)

    async def claim_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> bool:
        def take(conn: sqlite3.Connection) -> bool:
            row = _state(conn, tenant_id, batch_id)
            if row is None or row["enqueued"] or row["error"]:
                return False
            until = from_db_time(row["until"])
            if row["owner"] not in (None, claim.owner) and until is not None and until > utcnow():
                return False
            _beat(conn, batch_id, claim)
            return True

        return await self._db.write(take)

    async def release_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> None:
        await self._db.write(
            lambda c: c.execute(
                "DELETE FROM batch_claims WHERE batch_id = ? AND owner = ? "
                "AND batch_id IN (SELECT id FROM batches WHERE tenant_id = ?)",
                (batch_id, claim.owner, tenant_id),
            )
        )

    async def add_batch_items(
        self, tenant_id: str, batch_id: str, asset_ids: Sequence[str], claim: Claim
    ) -> bool:
        def add(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
            if row["selection"] is None or row["error"]:
                return False
            insert_items(conn, batch_id, asset_ids)
            return True

        return await self._guarded(tenant_id, batch_id, claim, add, False)

    async def resolve_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> int | None:
        def resolve(conn: sqlite3.Connection, row: sqlite3.Row) -> int:
            if row["selection"] is None:
                return int(row["total"])
            # one transaction: no item can be added between the count and the total
            (total,) = conn.execute(
                "SELECT count(*) FROM batch_items WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            conn.execute("UPDATE batches SET total = ? WHERE id = ?", (total, batch_id))
            conn.execute("UPDATE batch_preparations SET selection = NULL WHERE batch_id = ?", (batch_id,))
            _beat(conn, batch_id, claim)
            return int(total)

        return await self._guarded(tenant_id, batch_id, claim, resolve, None)

    async def fail_batch(self, tenant_id: str, batch_id: str, error: str, claim: Claim) -> bool:
        def fail(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
            if row["selection"] is None or row["error"]:
                return False  # resolved: its jobs may be queued already
            conn.execute("UPDATE batch_preparations SET error = ? WHERE batch_id = ?", (error, batch_id))
            conn.execute("UPDATE batches SET enqueued = 1 WHERE id = ?", (batch_id,))
            return True

        return await self._guarded(tenant_id, batch_id, claim, fail, False)

    async def checkpoint_batch(
        self, tenant_id: str, batch_id: str, enqueued_through: str | None, claim: Claim | None = None
    ) -> bool:
        def checkpoint(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
            conn.execute(
                "UPDATE batch_preparations SET enqueued_through = coalesce(?, enqueued_through) "
                "WHERE batch_id = ?",
                (enqueued_through, batch_id),
            )
            _beat(conn, batch_id, claim)
            return True

        return await self._guarded(tenant_id, batch_id, claim, checkpoint, False)

    async def set_batch_enqueued(self, tenant_id: str, batch_id: str, claim: Claim | None = None) -> bool:
        def enqueued(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
            conn.execute("UPDATE batches SET enqueued = 1 WHERE id = ?", (batch_id,))
            return True

        return await self._guarded(tenant_id, batch_id, claim, enqueued, False)
