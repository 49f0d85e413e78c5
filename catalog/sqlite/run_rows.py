"""The embedded catalog's run-history tables, and a run as a `runs` row and back.

A run is never updated or deleted while its asset lives. `current_runs` points at each analyzer's latest
successful run (by finish time), so current reads are a primary-key join and old runs cost no index
space in the search path. `asset_changes` holds one row per asset: when its current metadata last
changed, or a tombstone when it was deleted (the change feed walks it by time).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from catalog.domain.clock import from_db_time, to_db_time, utcnow
from catalog.domain.codec import decode_findings, encode_findings
from catalog.domain.model import RecognitionResult, RunStatus
from catalog.domain.run_change_json import decode_change, encode_change

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
    findings TEXT NOT NULL,         -- JSON, see catalog.domain.codec
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

RUN_COLUMNS = (
    "id, tenant_id, asset_id, analyzer, provider, model_name, model_version, parameters, findings, "
    "duration_ms, started_at, finished_at, status, error, batch_id, previous_model_version, change"
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
