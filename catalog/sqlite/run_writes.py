"""Writes to the embedded catalog's run history: appending runs (and moving the current pointer), the
change feed, deleting an asset's runs, and migrating data dirs made before run history existed."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import Any

from catalog.domain.clock import to_db_time, utcnow
from catalog.domain.model import RecognitionResult, RunChange, RunStatus
from catalog.domain.run_diff import summarize_change
from catalog.sqlite.db import placeholders
from catalog.sqlite.run_rows import RUN_COLUMNS, SCHEMA, run_from_row, run_row


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
    conn.execute(f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({placeholders(len(values))})", values)
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
            f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({placeholders(17)})",
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
