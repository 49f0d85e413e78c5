"""The embedded job queue: a table in the catalog database, claimed with leases.

A claimed job carries a lease token and a deadline; a worker that dies (kill -9) simply stops renewing,
and the job becomes claimable again when the deadline passes. Completing or retrying with a stale token
is a no-op, so a worker that lost its lease cannot clobber the new owner's state.
"""

from __future__ import annotations

import secrets
import sqlite3
import time

from catalog.domain.clock import to_db_time, utcnow
from catalog.domain.ids import uuid7
from catalog.domain.ports import Job, Signal
from catalog.sqlite.db import SqliteDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- pending | done | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after REAL NOT NULL,        -- epoch seconds: not before (backoff) / lease deadline
    lease_token TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    background INTEGER NOT NULL DEFAULT 0  -- 1: claimed only when no foreground job is ready
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_open ON jobs (kind, asset_id) WHERE state = 'pending';
DROP INDEX IF EXISTS jobs_ready;
CREATE INDEX IF NOT EXISTS jobs_ready_by_priority ON jobs (background, run_after) WHERE state = 'pending';
"""


def insert_job(
    conn: sqlite3.Connection, kind: str, tenant_id: str, asset_id: str, *, background: bool = False
) -> None:
    """Queue a job inside the caller's transaction (nothing if the same one is unfinished)."""
    now = to_db_time(utcnow())
    conn.execute(
        "INSERT OR IGNORE INTO jobs (id, kind, tenant_id, asset_id, state, run_after, created_at, "
        "updated_at, background) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
        (uuid7(), kind, tenant_id, asset_id, time.time(), now, now, int(background)),
    )


class SqliteJobQueue:
    dedupes = True  # a partial unique index keeps one unfinished job per (kind, asset)

    def __init__(self, db: SqliteDb) -> None:
        self._db = db
        self.new_jobs = Signal()

    @property
    def db(self) -> SqliteDb:
        return self._db

    async def enqueue(self, kind: str, tenant_id: str, asset_id: str, *, background: bool = False) -> None:
        await self._db.write(lambda c: insert_job(c, kind, tenant_id, asset_id, background=background))
        self.new_jobs.fire()

    async def claim(self, limit: int, lease_seconds: float) -> list[Job]:
        def claim(conn: sqlite3.Connection) -> list[Job]:
            now = time.time()
            rows = conn.execute(
                # Foreground (ingest) first, then background (reprocessing): each an index range.
                "SELECT id FROM (SELECT id FROM jobs WHERE state = 'pending' AND background = 0 "
                "AND run_after <= ? ORDER BY run_after LIMIT ?) UNION ALL "
                "SELECT id FROM (SELECT id FROM jobs WHERE state = 'pending' AND background = 1 "
                "AND run_after <= ? ORDER BY run_after LIMIT ?) LIMIT ?",
                (now, limit, now, limit, limit),
            ).fetchall()
            jobs = []
            for row in rows:
                token = secrets.token_hex(8)
                claimed = conn.execute(
                    "UPDATE jobs SET lease_token = ?, run_after = ?, attempts = attempts + 1, updated_at = ? "
                    "WHERE id = ? RETURNING id, kind, tenant_id, asset_id, attempts",
                    (token, now + lease_seconds, to_db_time(utcnow()), row["id"]),
                ).fetchone()
                jobs.append(Job(claimed[0], claimed[1], claimed[2], claimed[3], claimed[4], token))
            return jobs

        return await self._db.write(claim)

    async def _update_owned(self, job: Job, sql: str, params: tuple[object, ...]) -> bool:
        def update(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"UPDATE jobs SET {sql}, updated_at = ? "
                "WHERE id = ? AND lease_token = ? AND state = 'pending'",
                (*params, to_db_time(utcnow()), job.id, job.lease_token),
            )
            return cur.rowcount == 1

        return await self._db.write(update)

    async def extend(self, job: Job, lease_seconds: float) -> bool:
        return await self._update_owned(job, "run_after = ?", (time.time() + lease_seconds,))

    async def complete(self, job: Job) -> None:
        await self._update_owned(job, "state = 'done', lease_token = NULL", ())

    async def retry(self, job: Job, error: str, delay_seconds: float) -> None:
        await self._update_owned(
            job, "run_after = ?, lease_token = NULL, last_error = ?", (time.time() + delay_seconds, error)
        )

    async def dead(self, job: Job, error: str) -> None:
        await self._update_owned(job, "state = 'dead', lease_token = NULL, last_error = ?", (error,))

    async def pending(self) -> int:
        row = await self._db.read(
            lambda c: c.execute("SELECT COUNT(*) FROM jobs WHERE state = 'pending'").fetchone()
        )
        return int(row[0])
