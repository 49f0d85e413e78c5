"""The embedded catalog: tenants and keys (sqlite_tenants), assets, recognition runs (sqlite_runs) and
reprocess batches (sqlite_batches) in one SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalog.domain.clock import at_recorded_offset, from_db_time, recorded_offset, to_db_time, utcnow
from catalog.domain.model import (
    Asset,
    FeatureVector,
    Label,
    RecognitionResult,
    Rendition,
    RunChange,
    Stage,
    VersionRelation,
)
from catalog.domain.phash import nearest_hashes
from catalog.sqlite import batches as sqlite_batches
from catalog.sqlite import concepts as sqlite_concepts
from catalog.sqlite import run_rows as sqlite_run_rows
from catalog.sqlite import tenants as sqlite_tenants
from catalog.sqlite import webhooks as sqlite_webhooks
from catalog.sqlite.batches import SqliteBatches
from catalog.sqlite.concepts import SqliteConcepts, delete_asset_features, insert_features
from catalog.sqlite.db import SqliteDb, placeholders
from catalog.sqlite.run_rows import run_from_row
from catalog.sqlite.run_writes import delete_asset_runs, insert_run
from catalog.sqlite.runs import SqliteRunHistory
from catalog.sqlite.tenant_purge import SqliteTenantPurge
from catalog.sqlite.tenants import SqliteTenants
from catalog.sqlite.webhooks import SqliteWebhooks

_TABLES = """
CREATE TABLE IF NOT EXISTS assets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    filename TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    orientation INTEGER NOT NULL DEFAULT 1,
    captured_at TEXT,
    captured_offset INTEGER,
    parent_id TEXT REFERENCES assets(id),
    relation TEXT,
    renditions TEXT NOT NULL DEFAULT '[]',
    phash TEXT,
    other_names TEXT NOT NULL DEFAULT '[]',
    training_example INTEGER NOT NULL DEFAULT 0,
    frame_time REAL,
    UNIQUE (tenant_id, sha256)
);
CREATE INDEX IF NOT EXISTS assets_by_tenant ON assets (tenant_id, id);
CREATE INDEX IF NOT EXISTS assets_by_parent ON assets (tenant_id, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS assets_unfinished ON assets (status) WHERE status NOT IN ('indexed', 'failed');
-- the archive's assets by stage (a video's keyframes left out: Asset.in_archive): listings by status and
-- stage_counts read only this index. Catalog version 8 replaced assets_by_stage, which held the keyframes
-- too: its `frame_time IS NULL` test read each row from the table (bench/search.py, counting a tenant of
-- 60k assets: 36 → 8 ms of CPU)
CREATE INDEX IF NOT EXISTS assets_in_archive_by_stage ON assets (tenant_id, status, id)
    WHERE frame_time IS NULL;
"""

SCHEMA = (
    sqlite_tenants.SCHEMA
    + _TABLES
    + sqlite_run_rows.SCHEMA
    + sqlite_batches.SCHEMA
    + sqlite_webhooks.SCHEMA
    + sqlite_concepts.SCHEMA
)

_ASSET_COLUMNS = (
    "id, tenant_id, sha256, size_bytes, media_type, width, height, filename, blob_key, created_at, "
    "updated_at, status, error, orientation, captured_at, parent_id, relation, renditions, phash, "
    "other_names, training_example, frame_time, captured_offset"
)
_ASSET_FIELDS = _ASSET_COLUMNS.count(",") + 1


def _asset_row(a: Asset) -> tuple[Any, ...]:
    renditions = [[r.kind, r.blob_key, r.width, r.height, r.media_type] for r in a.renditions]
    return (
        a.id,
        a.tenant_id,
        a.sha256,
        a.size_bytes,
        a.media_type,
        a.width,
        a.height,
        a.filename,
        a.blob_key,
        to_db_time(a.created_at),
        to_db_time(a.updated_at),
        a.status.value,
        a.error,
        a.orientation,
        to_db_time(a.captured_at),
        a.parent_id,
        a.relation.value if a.relation else None,
        json.dumps(renditions),
        a.phash,
        json.dumps(a.other_filenames),
        int(a.training_example),
        a.frame_time,
        recorded_offset(a.captured_at),
    )


def _asset(row: sqlite3.Row) -> Asset:
    created, updated = from_db_time(row["created_at"]), from_db_time(row["updated_at"])
    assert created is not None and updated is not None
    return Asset(
        id=row["id"],
        tenant_id=row["tenant_id"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        media_type=row["media_type"],
        width=row["width"],
        height=row["height"],
        filename=row["filename"],
        blob_key=row["blob_key"],
        created_at=created,
        updated_at=updated,
        status=Stage(row["status"]),
        error=row["error"],
        orientation=row["orientation"],
        captured_at=at_recorded_offset(from_db_time(row["captured_at"]), row["captured_offset"]),
        parent_id=row["parent_id"],
        relation=VersionRelation(row["relation"]) if row["relation"] else None,
        renditions=tuple(Rendition(*r) for r in json.loads(row["renditions"])),
        phash=row["phash"],
        other_filenames=tuple(json.loads(row["other_names"])),
        training_example=bool(row["training_example"]),
        frame_time=row["frame_time"],
    )


def insert_asset(conn: sqlite3.Connection, asset: Asset) -> tuple[Asset, bool]:
    """Insert the asset in the caller's transaction unless the tenant has these bytes: (asset, created)."""
    row = conn.execute(
        f"SELECT {_ASSET_COLUMNS} FROM assets WHERE tenant_id = ? AND sha256 = ?",
        (asset.tenant_id, asset.sha256),
    ).fetchone()
    if row is not None:
        return _asset(row), False
    conn.execute(
        f"INSERT INTO assets ({_ASSET_COLUMNS}) VALUES ({placeholders(_ASSET_FIELDS)})", _asset_row(asset)
    )
    return asset, True


def _update_stage(
    conn: sqlite3.Connection, tenant_id: str, asset_id: str, stage: Stage, error: str | None
) -> None:
    conn.execute(
        "UPDATE assets SET status = ?, error = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
        (stage.value, error, to_db_time(utcnow()), tenant_id, asset_id),
    )


class SqliteCatalog(
    SqliteTenants, SqliteTenantPurge, SqliteRunHistory, SqliteBatches, SqliteWebhooks, SqliteConcepts
):
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    @property
    def db(self) -> SqliteDb:
        return self._db

    async def register_asset(self, asset: Asset) -> tuple[Asset, bool]:
        return await self._db.write(lambda c: insert_asset(c, asset))

    async def find_asset_by_sha256(self, tenant_id: str, sha256: str) -> Asset | None:
        row = await self._db.read(
            lambda c: c.execute(
                f"SELECT {_ASSET_COLUMNS} FROM assets WHERE tenant_id = ? AND sha256 = ?", (tenant_id, sha256)
            ).fetchone()
        )
        return _asset(row) if row else None

    async def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        return (await self.get_assets(tenant_id, [asset_id])).get(asset_id)

    async def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Asset]:
        return {a.id: a for a in await self._assets_where(tenant_id, "id", asset_ids)}

    async def _assets_where(self, tenant_id: str, column: str, values: Sequence[str]) -> list[Asset]:
        """The tenant's assets whose `column` is one of `values`, in ID order."""
        unique = list(dict.fromkeys(values))
        if not unique:
            return []

        return await self._select_assets(
            f"SELECT {_ASSET_COLUMNS} FROM assets "
            f"WHERE tenant_id = ? AND {column} IN ({placeholders(len(unique))}) ORDER BY id",
            (tenant_id, *unique),
        )

    async def _select_assets(self, sql: str, params: Sequence[object]) -> list[Asset]:
        """Rows made into assets on the reader thread: ~10 µs each, off the event loop."""
        return await self._db.read(lambda c: [_asset(row) for row in c.execute(sql, params)])

    async def list_assets(self, tenant_id: str | None, *, after: str | None, limit: int) -> list[Asset]:
        clauses, params = ["id > ?"], [after or ""]
        if tenant_id is not None:
            clauses.append("tenant_id = ?")
            params.append(tenant_id)
        sql = f"SELECT {_ASSET_COLUMNS} FROM assets WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
        return await self._select_assets(sql, (*params, limit))

    async def assets_in_stages(
        self, tenant_id: str, stages: Sequence[Stage], *, after: str | None, limit: int
    ) -> list[Asset]:
        values = [st.value for st in dict.fromkeys(stages)]
        if not values or limit <= 0:
            return []
        marks = placeholders(len(values))
        sql = (
            f"SELECT {_ASSET_COLUMNS} FROM assets WHERE tenant_id = ? AND status IN ({marks}) "
            "AND frame_time IS NULL AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?"
        )
        return await self._select_assets(sql, (tenant_id, *values, after, after, limit))

    async def stage_counts(self, tenant_id: str) -> dict[Stage, int]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT status, COUNT(*) AS n FROM assets WHERE tenant_id = ? AND frame_time IS NULL "
                "GROUP BY status",
                (tenant_id,),
            ).fetchall()
        )
        return {Stage(r["status"]): r["n"] for r in rows}

    async def get_children(self, tenant_id: str, parent_ids: Sequence[str]) -> dict[str, list[Asset]]:
        out: dict[str, list[Asset]] = {i: [] for i in parent_ids}
        for child in await self._assets_where(tenant_id, "parent_id", parent_ids):
            assert child.parent_id is not None
            out[child.parent_id].append(child)
        return out

    async def set_parent(
        self, tenant_id: str, asset_id: str, parent_id: str | None, relation: VersionRelation | None
    ) -> None:
        def update(conn: sqlite3.Connection) -> None:
            # The parent must be the same tenant's: the EXISTS makes a cross-tenant link impossible here too.
            conn.execute(
                "UPDATE assets SET parent_id = ?, relation = ?, updated_at = ? "
                "WHERE tenant_id = ? AND id = ? "
                "AND (? IS NULL OR EXISTS (SELECT 1 FROM assets p WHERE p.tenant_id = ? AND p.id = ?))",
                (parent_id, relation.value if relation else None, to_db_time(utcnow()), tenant_id, asset_id,
                 parent_id, tenant_id, parent_id),
            )  # fmt: skip

        await self._db.write(update)

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            delete_asset_runs(conn, tenant_id, asset_id)
            delete_asset_features(conn, tenant_id, asset_id)
            conn.execute("DELETE FROM assets WHERE tenant_id = ? AND id = ?", (tenant_id, asset_id))

        await self._db.write(delete)

    async def unfinished_assets(self, *, after: str | None, limit: int) -> list[Asset]:
        sql = (
            f"SELECT {_ASSET_COLUMNS} FROM assets WHERE status NOT IN ('indexed', 'failed') AND id > ? "
            "ORDER BY id LIMIT ?"
        )
        return await self._select_assets(sql, (after or "", limit))

    async def set_stage(self, tenant_id: str, asset_id: str, stage: Stage, error: str | None = None) -> None:
        await self._db.write(lambda c: _update_stage(c, tenant_id, asset_id, stage, error))

    async def set_renditions(
        self,
        tenant_id: str,
        asset_id: str,
        renditions: Sequence[Rendition],
        *,
        phash: str | None = None,
        stage: Stage | None = None,
    ) -> None:
        payload = json.dumps([[r.kind, r.blob_key, r.width, r.height, r.media_type] for r in renditions])
        sets, params = ["renditions = ?", "updated_at = ?"], [payload, to_db_time(utcnow())]
        if phash is not None:
            sets.append("phash = ?")
            params.append(phash)
        if stage is not None:
            sets += ["status = ?", "error = NULL"]
            params.append(stage.value)
        sql = f"UPDATE assets SET {', '.join(sets)} WHERE tenant_id = ? AND id = ?"
        await self._db.write(lambda c: c.execute(sql, (*params, tenant_id, asset_id)))

    async def set_phash(self, tenant_id: str, asset_id: str, phash: str) -> None:
        await self._db.write(
            lambda c: c.execute(
                "UPDATE assets SET phash = ? WHERE tenant_id = ? AND id = ?", (phash, tenant_id, asset_id)
            )
        )

    async def add_filename(self, tenant_id: str, asset_id: str, filename: str) -> bool:
        def add(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT filename, other_names FROM assets WHERE tenant_id = ? AND id = ?",
                (tenant_id, asset_id),
            ).fetchone()
            names = json.loads(row["other_names"]) if row else []
            if row is None or filename == row["filename"] or filename in names:
                return False
            conn.execute(
                "UPDATE assets SET other_names = ? WHERE tenant_id = ? AND id = ?",
                (json.dumps([*names, filename]), tenant_id, asset_id),
            )
            return True

        return await self._db.write(add)

    async def join_archive(self, tenant_id: str, asset_id: str) -> bool:
        def clear(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE assets SET training_example = 0 "
                "WHERE tenant_id = ? AND id = ? AND training_example = 1",
                (tenant_id, asset_id),
            )
            return cursor.rowcount == 1

        return await self._db.write(clear)

    async def similar_assets(
        self, tenant_id: str, phash: str, *, max_distance: int, limit: int
    ) -> list[tuple[str, int]]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT id, phash FROM assets WHERE tenant_id = ? AND phash IS NOT NULL", (tenant_id,)
            ).fetchall()
        )
        return nearest_hashes(phash, [(r["id"], r["phash"]) for r in rows], max_distance, limit)

    async def save_result(self, tenant_id: str, result: RecognitionResult) -> RunChange | None:
        return await self._db.write(lambda c: insert_run(c, tenant_id, result))

    async def save_analysis(
        self,
        tenant_id: str,
        asset_id: str,
        results: Sequence[RecognitionResult],
        *,
        features: FeatureVector | None = None,
        stage: Stage | None = None,
    ) -> list[RunChange | None]:
        def write(conn: sqlite3.Connection) -> list[RunChange | None]:
            if features is not None:
                insert_features(conn, tenant_id, asset_id, features)
            changes = [insert_run(conn, tenant_id, result) for result in results]
            if stage is not None:
                _update_stage(conn, tenant_id, asset_id, stage, None)
            return changes

        return await self._db.write(write)

    async def get_results(
        self, tenant_id: str, asset_ids: Sequence[str], *, as_of: datetime | None = None
    ) -> dict[str, dict[str, RecognitionResult]]:
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            return {}
        marks = placeholders(len(ids))
        if as_of is None:
            sql = (
                "SELECT r.* FROM current_runs c JOIN runs r ON r.id = c.run_id "
                f"WHERE c.tenant_id = ? AND c.asset_id IN ({marks})"
            )
            args: tuple[object, ...] = (tenant_id, *ids)
        else:  # the latest success per analyzer finished by then (rows come oldest first: last wins)
            sql = (
                f"SELECT * FROM runs WHERE tenant_id = ? AND asset_id IN ({marks}) AND status = 'succeeded' "
                "AND finished_at <= ? ORDER BY finished_at, id"
            )
            args = (tenant_id, *ids, to_db_time(as_of))
        out: dict[str, dict[str, RecognitionResult]] = {}
        for row in await self._db.read(lambda c: c.execute(sql, args).fetchall()):
            out.setdefault(row["asset_id"], {})[row["analyzer"]] = run_from_row(row)
        return out

    async def get_labels(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, tuple[Label, ...]]:
        results = await self.get_results(tenant_id, asset_ids)
        return {asset_id: by["labels"].findings.labels for asset_id, by in results.items() if "labels" in by}

    async def get_result(self, tenant_id: str, asset_id: str, analyzer: str) -> RecognitionResult | None:
        return (await self.get_results(tenant_id, [asset_id])).get(asset_id, {}).get(analyzer)

    async def stages_of(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Stage]:
        ids = list(dict.fromkeys(asset_ids))
        stages: dict[str, Stage] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]

            def select(conn: sqlite3.Connection, chunk: list[str] = chunk) -> list[sqlite3.Row]:
                return conn.execute(
                    "SELECT id, status FROM assets WHERE tenant_id = ? "
                    f"AND id IN ({placeholders(len(chunk))})",
                    (tenant_id, *chunk),
                ).fetchall()

            stages.update((row["id"], Stage(row["status"])) for row in await self._db.read(select))
        return stages
