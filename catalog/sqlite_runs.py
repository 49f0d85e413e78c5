"""Run history in the embedded catalog: append-only runs, current pointers, the change feed.

A run is never updated or deleted while its asset lives. `current_runs` points at each analyzer's latest
successful run (by finish time), so current reads are a primary-key join and old runs cost no index
space in the search path. `asset_changes` holds one row per asset: when its current metadata last
changed, or a tombstone when it was deleted (the change feed walks it by time).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalog.codec import decode_findings, encode_findings
from catalog.model import ChangedAsset, RecognitionResult, RunChange, RunStatus
from catalog.run_diff import summarize_change
from catalog.run_ports import ChangeRecord
from catalog.sqlite_db import SqliteDb, from_db_time, placeholders, to_db_time, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    analyzer TEXT NOT NULL,
    provider TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    parameters TEXT NOT NULL,
    findings TEXT NOT NULL,         -- JSON, see catalog.codec
    duration_ms REAL NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    batch_id TEXT,
    previous_model_version TEXT,    -- of the run this one replaced as current (model-change reports)
    change TEXT                     -- JSON RunChange
);
CREATE INDEX IF NOT EXISTS runs_by_asset ON runs (tenant_id, asset_id, analyzer, finished_at);
CREATE INDEX IF NOT EXISTS runs_by_batch ON runs (tenant_id, batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_model_change
    ON runs (tenant_id, analyzer, previous_model_version, model_version)
    WHERE previous_model_version IS NOT NULL;
CREATE TABLE IF NOT EXISTS current_runs (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    run_id TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, analyzer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS asset_changes (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,  -- a tombstone, so the feed tells downstream apps of deletions
    PRIMARY KEY (tenant_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_changes_feed ON asset_changes (tenant_id, changed_at, asset_id);
"""

_RUN_COLUMNS = (
    "id, tenant_id, asset_id, analyzer, provider, model_name, model_version, parameters, findings, "
    "duration_ms, started_at, finished_at, status, error, batch_id, previous_model_version, change"
)


def encode_change(change: RunChange | None) -> str | None:
    if change is None:
        return None
    return json.dumps(
        {
            "previous": change.previous_run_id,
            "previous_version": change.previous_model_version,
            "changed": change.changed,
            "gained": list(change.gained),
            "lost": list(change.lost),
            "top_before": change.top_before,
            "top_after": change.top_after,
        }
    )


def decode_change(text: str | None) -> RunChange | None:
    if not text:
        return None
    raw = json.loads(text)
    return RunChange(
        previous_run_id=raw["previous"],
        previous_model_version=raw["previous_version"],
        changed=raw["changed"],
        gained=tuple(raw["gained"]),
        lost=tuple(raw["lost"]),
        top_before=raw["top_before"],
        top_after=raw["top_after"],
    )


def run_row(tenant_id: str, r: RecognitionResult) -> tuple[Any, ...]:
    assert r.id, "a run is saved with its ID"
    started = r.created_at or utcnow()
    return (
        r.id,
        tenant_id,
        r.asset_id,
        r.analyzer,
        r.provider,
        r.model_name,
        r.model_version,
        json.dumps(r.parameters, sort_keys=True),
        json.dumps(encode_findings(r.findings)),
        r.duration_ms,
        to_db_time(started),
        to_db_time(r.finished_at or started),
        r.status.value,
        r.error,
        r.batch_id,
        r.change.previous_model_version if r.change else None,
        encode_change(r.change),
    )


def run_from_row(row: sqlite3.Row) -> RecognitionResult:
    return RecognitionResult(
        id=row["id"],
        asset_id=row["asset_id"],
        analyzer=row["analyzer"],
        provider=row["provider"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        parameters=json.loads(row["parameters"]),
        duration_ms=row["duration_ms"],
        created_at=from_db_time(row["started_at"]),
        finished_at=from_db_time(row["finished_at"]),
        status=RunStatus(row["status"]),
        error=row["error"],
        batch_id=row["batch_id"],
        change=decode_change(row["change"]),
        findings=decode_findings(json.loads(row["findings"])),
    )


def insert_run(conn: sqlite3.Connection, tenant_id: str, r: RecognitionResult) -> RunChange | None:
    """Append the run. A success that finished after the current run becomes current, with its change
    against that run computed here, inside the write (a concurrent run cannot make it stale); a real
    change goes to the feed, stamped with the write time so pollers never miss it. Returns the change
    (None: failed, or finished before the current run and kept as history only)."""
    change = None
    if r.status == RunStatus.SUCCEEDED:
        row = conn.execute(
            "SELECT r.* FROM current_runs c JOIN runs r ON r.id = c.run_id "
            "WHERE c.tenant_id = ? AND c.asset_id = ? AND c.analyzer = ?",
            (tenant_id, r.asset_id, r.analyzer),
        ).fetchone()
        previous = run_from_row(row) if row else None
        newer = previous is None or (previous.finished_at or utcnow()) <= (r.finished_at or utcnow())
        change = summarize_change(previous, r) if newer else None
    r = dataclasses.replace(r, change=change)
    values = run_row(tenant_id, r)
    conn.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({placeholders(len(values))})", values)
    if change is None:
        return None
    conn.execute(
        "INSERT INTO current_runs (tenant_id, asset_id, analyzer, run_id, finished_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, asset_id, analyzer) DO UPDATE SET "
        "run_id = excluded.run_id, finished_at = excluded.finished_at",
        (tenant_id, r.asset_id, r.analyzer, r.id, values[11]),
    )
    if change.changed:
        touch(conn, tenant_id, [r.asset_id])
    return change


def touch(conn: sqlite3.Connection, tenant_id: str, asset_ids: Sequence[str], at: str | None = None) -> None:
    when = at or to_db_time(utcnow())
    conn.executemany(
        "INSERT INTO asset_changes (tenant_id, asset_id, changed_at) SELECT ?, id, ? FROM assets "
        "WHERE tenant_id = ? AND id = ? "
        "ON CONFLICT (tenant_id, asset_id) DO UPDATE SET changed_at = MAX(changed_at, excluded.changed_at)",
        [(tenant_id, when, tenant_id, a) for a in asset_ids],
    )


def delete_asset_runs(conn: sqlite3.Connection, tenant_id: str, asset_id: str) -> None:
    """The asset's runs go; its feed entry becomes a tombstone (if it ever had one or the asset exists)."""
    for table in ("runs", "current_runs"):
        conn.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id))
    conn.execute(
        "INSERT INTO asset_changes (tenant_id, asset_id, changed_at, deleted) SELECT ?, id, ?, 1 FROM assets "
        "WHERE tenant_id = ? AND id = ? "
        "ON CONFLICT (tenant_id, asset_id) DO UPDATE SET changed_at = excluded.changed_at, deleted = 1",
        (tenant_id, to_db_time(utcnow()), tenant_id, asset_id),
    )


def migrate_results(conn: sqlite3.Connection, new_id: Any) -> None:
    """Data dirs made before run history kept one `results` row per analyzer: each becomes a run."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'results'").fetchone():
        return
    for statement in SCHEMA.split(";"):  # not executescript: it would commit the migration's transaction
        if statement.strip():
            conn.execute(statement)
    for row in conn.execute("SELECT * FROM results").fetchall():
        run_id = new_id()
        conn.execute(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({placeholders(17)})",
            (run_id, row["tenant_id"], row["asset_id"], row["analyzer"], row["provider"], row["model_name"],
             row["model_version"], row["parameters"], row["findings"], row["duration_ms"], row["created_at"],
             row["created_at"], RunStatus.SUCCEEDED.value, "", None, None, None),
        )  # fmt: skip
        conn.execute(
            "INSERT OR REPLACE INTO current_runs VALUES (?, ?, ?, ?, ?)",
            (row["tenant_id"], row["asset_id"], row["analyzer"], run_id, row["created_at"]),
        )
        touch(conn, row["tenant_id"], [row["asset_id"]], row["created_at"])
    conn.execute("DROP TABLE results")


class SqliteRunHistory:
    """RunHistory for SqliteCatalog (which saves runs itself, in insert_run)."""

    _db: SqliteDb

    async def runs_of(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        analyzer: str | None = None,
        *,
        limit: int = 100,
        finished_by: datetime | None = None,
    ) -> dict[str, list[RecognitionResult]]:
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            return {}
        sql = (
            f"SELECT * FROM (SELECT {_RUN_COLUMNS}, ROW_NUMBER() OVER "
            "(PARTITION BY asset_id ORDER BY finished_at DESC, id DESC) AS n FROM runs "
            f"WHERE tenant_id = ? AND asset_id IN ({placeholders(len(ids))}) "
            "AND (? IS NULL OR analyzer = ?) AND (? IS NULL OR finished_at <= ?)) "
            "WHERE n <= ? ORDER BY asset_id, n"
        )
        until = to_db_time(finished_by)
        rows = await self._db.read(
            lambda c: c.execute(sql, (tenant_id, *ids, analyzer, analyzer, until, until, limit)).fetchall()
        )
        out: dict[str, list[RecognitionResult]] = {}
        for row in rows:
            out.setdefault(row["asset_id"], []).append(run_from_row(row))
        return out

    async def get_runs(
        self, tenant_id: str, asset_id: str, run_ids: Sequence[str]
    ) -> dict[str, RecognitionResult]:
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND asset_id = ? "
                f"AND id IN ({placeholders(len(ids))})",
                (tenant_id, asset_id, *ids),
            ).fetchall()
        )
        return {r["id"]: run_from_row(r) for r in rows}

    async def change_records(
        self,
        tenant_id: str,
        *,
        batch_id: str | None = None,
        analyzer: str | None = None,
        from_version: str | None = None,
        to_version: str | None = None,
    ) -> list[ChangeRecord]:
        args: tuple[str | None, ...]
        if batch_id is not None:
            where, args = "batch_id = ?", (batch_id,)
        else:
            where = "analyzer = ? AND previous_model_version = ? AND model_version = ?"
            args = (analyzer, from_version, to_version)
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT asset_id, analyzer, id, model_version, finished_at, change FROM runs "
                f"WHERE tenant_id = ? AND {where} AND status = 'succeeded' AND change IS NOT NULL "
                "ORDER BY asset_id, finished_at",
                (tenant_id, *args),
            ).fetchall()
        )
        out = []
        for r in rows:
            change, finished = decode_change(r["change"]), from_db_time(r["finished_at"])
            assert change is not None and finished is not None
            out.append(
                ChangeRecord(r["asset_id"], r["analyzer"], r["id"], r["model_version"], finished, change)
            )
        return out

    async def mark_changed(self, tenant_id: str, asset_ids: Sequence[str]) -> None:
        await self._db.write(lambda c: touch(c, tenant_id, asset_ids))

    async def changed_assets(
        self, tenant_id: str, since: datetime, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[ChangedAsset]:
        key = (to_db_time(after[0]), after[1]) if after else (to_db_time(since), "")
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT asset_id, changed_at, deleted FROM asset_changes WHERE tenant_id = ? "
                "AND changed_at >= ? AND (changed_at, asset_id) > (?, ?) "
                "ORDER BY changed_at, asset_id LIMIT ?",
                (tenant_id, to_db_time(since), *key, limit),
            ).fetchall()
        )
        return [
            ChangedAsset(r["asset_id"], from_db_time(r["changed_at"]) or since, bool(r["deleted"]))
            for r in rows
        ]
