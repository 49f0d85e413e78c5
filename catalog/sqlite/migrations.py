"""Bring a catalog file made by an earlier release up to the current schema (PRAGMA user_version)."""

from __future__ import annotations

import sqlite3

from catalog.domain.ids import uuid7
from catalog.sqlite.run_writes import migrate_results

CATALOG_VERSION = 10

# Columns added after the first tables shipped: (table, column, declaration for ALTER TABLE ADD COLUMN).
_ADDED_COLUMNS = (
    ("tenants", "config", "TEXT NOT NULL DEFAULT '{}'"),
    ("api_keys", "scopes", "TEXT NOT NULL DEFAULT 'read,write,admin'"),
    ("api_keys", "name", "TEXT NOT NULL DEFAULT ''"),
    ("assets", "orientation", "INTEGER NOT NULL DEFAULT 1"),
    ("assets", "captured_at", "TEXT"),
    ("assets", "parent_id", "TEXT REFERENCES assets(id)"),
    ("assets", "relation", "TEXT"),
    ("assets", "renditions", "TEXT NOT NULL DEFAULT '[]'"),
    ("assets", "phash", "TEXT"),
    ("assets", "other_names", "TEXT NOT NULL DEFAULT '[]'"),
    ("assets", "training_example", "INTEGER NOT NULL DEFAULT 0"),
    ("assets", "frame_time", "REAL"),
    ("asset_changes", "deleted", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "background", "INTEGER NOT NULL DEFAULT 0"),
    ("batches", "outdated_only", "INTEGER NOT NULL DEFAULT 0"),  # version 9
    ("assets", "captured_offset", "INTEGER"),  # version 10
)


def _columns(conn: sqlite3.Connection, table: str) -> set[str] | None:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return {r[1] for r in rows} if rows else None


def migrate_catalog(conn: sqlite3.Connection) -> None:
    """Runs before the schema script, in one transaction; a new file only gets its version stamped."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= CATALOG_VERSION:
        return
    for table, column, declaration in _ADDED_COLUMNS:
        existing = _columns(conn, table)
        if existing is not None and column not in existing:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    migrate_results(conn, uuid7)  # version 2: immutable runs
    # version 8: the schema script makes assets_in_archive_by_stage (keyframes left out) in its place
    conn.execute("DROP INDEX IF EXISTS assets_by_stage")
    conn.execute(f"PRAGMA user_version = {CATALOG_VERSION}")
