"""A catalog file made by an earlier release opens with its data intact: before run history (one `results` row
per analyzer), and version 7 (the stage index held keyframes)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catalog.domain.model import Stage, VersionRelation
from catalog.sqlite.catalog import SCHEMA, SqliteCatalog
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.migrations import CATALOG_VERSION, migrate_catalog
from tests.contract.catalogs import new_asset

OLD = """
CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE api_keys (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE assets (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, media_type TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    filename TEXT NOT NULL, blob_key TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, UNIQUE (tenant_id, sha256));
CREATE TABLE results (tenant_id TEXT NOT NULL, asset_id TEXT NOT NULL, analyzer TEXT NOT NULL,
    provider TEXT NOT NULL, model_name TEXT NOT NULL, model_version TEXT NOT NULL, parameters TEXT NOT NULL,
    findings TEXT NOT NULL, duration_ms REAL NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, analyzer));
INSERT INTO tenants VALUES ('t1', 'acme', '2025-01-01T00:00:00.000000+00:00');
INSERT INTO api_keys VALUES ('k1', 't1', 'hash', '2025-01-01T00:00:00.000000+00:00', NULL);
INSERT INTO assets VALUES ('a1', 't1', 'sha', 10, 'image/jpeg', 4, 3, 'x.jpg', 'blob',
    '2025-01-01T00:00:00.000000+00:00', '2025-01-01T00:00:00.000000+00:00', 'indexed', NULL);
INSERT INTO results VALUES ('t1', 'a1', 'labels', 'local', 'm', '1', '{}',
    '{"labels": [["Dog", 90.0, ["Animal"]]]}', 1.5, '2025-01-02T00:00:00.000000+00:00');
"""


async def test_an_old_catalog_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD)
    db = SqliteDb(path, SCHEMA, migrate=migrate_catalog)
    try:
        catalog = SqliteCatalog(db)
        key = await catalog.find_api_key("hash")
        assert key is not None and key.tenant_id == "t1" and key.name == ""
        asset = await catalog.get_asset("t1", "a1")
        assert asset is not None and asset.parent_id is None and asset.renditions == ()
        result = await catalog.get_result("t1", "a1", "labels")
        assert result is not None and result.id and result.findings.labels[0].name == "Dog"
        assert [r.id for r in (await catalog.runs_of("t1", ["a1"])).get("a1", [])] == [result.id]
        [change] = await catalog.changed_assets("t1", result.finished_at, after=None, limit=5)  # type: ignore[arg-type]
        assert change.asset_id == "a1"
    finally:
        db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == CATALOG_VERSION
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'results'").fetchone()
    SqliteDb(path, SCHEMA, migrate=migrate_catalog).close()  # opening again is a no-op


async def test_version_8_keeps_the_stage_index_to_the_archive(tmp_path: Path) -> None:
    """A version 7 file's assets_by_stage (keyframes in it) is replaced by the partial index that leaves
    them out, so counting reads the index alone; counts and listings stay as they were."""
    path = tmp_path / "catalog.db"
    SqliteDb(path, SCHEMA, migrate=migrate_catalog).close()
    with sqlite3.connect(path) as conn:  # as version 7 left it
        conn.execute("DROP INDEX assets_in_archive_by_stage")
        conn.execute("CREATE INDEX assets_by_stage ON assets (tenant_id, status, id)")
        conn.execute("PRAGMA user_version = 7")
    db = SqliteDb(path, SCHEMA, migrate=migrate_catalog)
    try:
        catalog = SqliteCatalog(db)
        tenant = (await catalog.create_tenant("acme")).id
        video = new_asset(tenant, "v" * 64, media_type="video/mp4", status=Stage.INDEXED)
        await catalog.register_asset(video)
        await catalog.register_asset(new_asset(tenant, "p" * 64))
        frame = {"relation": VersionRelation.FRAME, "frame_time": 1.0, "status": Stage.INDEXED}
        await catalog.register_asset(new_asset(tenant, "f" * 64, parent_id=video.id, **frame))
        assert await catalog.stage_counts(tenant) == {Stage.INDEXED: 1, Stage.STORED: 1}
        listed = await catalog.assets_in_stages(tenant, [Stage.INDEXED], after=None, limit=10)
        assert [a.id for a in listed] == [video.id]
    finally:
        db.close()
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "assets_in_archive_by_stage" in indexes and "assets_by_stage" not in indexes
        plan = " ".join(
            r[3]
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT status, COUNT(*) FROM assets WHERE tenant_id = 'x' "
                "AND frame_time IS NULL GROUP BY status"
            )
        )
        assert "assets_in_archive_by_stage" in plan


async def test_version_9_gives_batches_their_outdated_only_flag(tmp_path: Path) -> None:
    """A version 8 file's batches had no outdated_only column: they keep their rows and read as plain."""
    path = tmp_path / "catalog.db"
    SqliteDb(path, SCHEMA, migrate=migrate_catalog).close()
    with sqlite3.connect(path) as conn:  # as version 8 left it
        conn.execute("ALTER TABLE batches DROP COLUMN outdated_only")
        conn.execute(
            "INSERT INTO batches (id, tenant_id, analyzers, provider, parameters, total, created_at) "
            "VALUES ('b1', 't1', '[]', NULL, '{}', 0, '2026-12-01T00:00:00.000000+00:00')"
        )
        conn.execute("PRAGMA user_version = 8")
    db = SqliteDb(path, SCHEMA, migrate=migrate_catalog)
    try:
        batch = await SqliteCatalog(db).get_batch("t1", "b1")
        assert batch is not None and not batch.outdated_only
    finally:
        db.close()
