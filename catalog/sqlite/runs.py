"""Run history in the embedded catalog: reading runs and the change feed (RunHistory). The tables and rows:
sqlite_run_rows; appending runs and the feed: sqlite_run_writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from catalog.domain.clock import from_db_time, to_db_time
from catalog.domain.model import ChangedAsset, RecognitionResult
from catalog.domain.model_census import ModelRef, shot_models
from catalog.domain.run_change_json import decode_change
from catalog.domain.run_ports import ChangeRecord
from catalog.domain.video.findings import VIDEO
from catalog.sqlite.db import SqliteDb, placeholders
from catalog.sqlite.run_rows import RUN_COLUMNS, run_from_row
from catalog.sqlite.run_writes import touch


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
            f"SELECT * FROM (SELECT {RUN_COLUMNS}, ROW_NUMBER() OVER "
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
                f"SELECT {RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND asset_id = ? "
                f"AND id IN ({placeholders(len(ids))})",
                (tenant_id, asset_id, *ids),
            ).fetchall()
        )
        return {r["id"]: run_from_row(r) for r in rows}

    async def current_models(
        self, tenant_id: str, asset_ids: Sequence[str], analyzers: Sequence[str]
    ) -> dict[str, dict[str, ModelRef]]:
        ids, names = list(dict.fromkeys(asset_ids)), list(dict.fromkeys(analyzers))
        if not ids or not names:
            return {}
        # current_runs' primary key finds each (asset, analyzer); runs' key its run, whose leading columns
        # are read without the findings that follow them (a video run's parameters too: its shots' models)
        sql = (
            "SELECT c.asset_id, c.analyzer, r.provider, r.model_name, r.model_version, "
            "CASE WHEN c.analyzer = ? THEN r.parameters END AS parameters "
            "FROM current_runs c JOIN runs r ON r.id = c.run_id "
            f"WHERE c.tenant_id = ? AND c.asset_id IN ({placeholders(len(ids))}) "
            f"AND c.analyzer IN ({placeholders(len(names))})"
        )
        rows = await self._db.read(lambda c: c.execute(sql, (VIDEO, tenant_id, *ids, *names)).fetchall())
        out: dict[str, dict[str, ModelRef]] = {}
        for r in rows:
            model = ModelRef(r["provider"], r["model_name"], r["model_version"])
            models = out.setdefault(r["asset_id"], {})
            models[r["analyzer"]] = model
            if r["parameters"]:  # a video run's
                models.update(shot_models(json.loads(r["parameters"])))
        return out

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
        self,
        tenant_id: str,
        since: datetime,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
        newest_first: bool = False,
    ) -> list[ChangedAsset]:
        floor = to_db_time(since)
        if newest_first:  # the feed index walked backwards, from the cursor (or the end) down to `since`
            resume = " AND (changed_at, asset_id) < (?, ?)" if after else ""
            order = "DESC"
        else:
            resume, order = " AND (changed_at, asset_id) > (?, ?)", "ASC"
            after = after or (since, "")
        key = (to_db_time(after[0]), after[1]) if after else ()
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT asset_id, changed_at, deleted FROM asset_changes WHERE tenant_id = ? "
                f"AND changed_at >= ?{resume} ORDER BY changed_at {order}, asset_id {order} LIMIT ?",
                (tenant_id, floor, *key, limit),
            ).fetchall()
        )
        return [
            ChangedAsset(r["asset_id"], from_db_time(r["changed_at"]) or since, bool(r["deleted"]))
            for r in rows
        ]
