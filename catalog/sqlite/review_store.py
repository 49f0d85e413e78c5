"""ReviewStore in the embedded catalog file: rules, tasks (answers inside, JSON), reviewers."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from catalog.domain.clock import to_db_time
from catalog.domain.review.codec import (
    reviewer_from_row,
    reviewer_stats_json,
    rules_from_json,
    rules_json,
    task_from_json,
    task_json,
)
from catalog.domain.review.tasks import Reviewer, ReviewInputError, ReviewRules, ReviewTask, TaskStatus
from catalog.sqlite.db import SqliteDb, placeholders

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS review_rules (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    rules TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS review_tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    dedupe TEXT NOT NULL,
    body TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS review_tasks_by_status ON review_tasks (tenant_id, status, id)",
    "CREATE INDEX IF NOT EXISTS review_tasks_by_tenant ON review_tasks (tenant_id, id)",
    """CREATE UNIQUE INDEX IF NOT EXISTS review_tasks_dedupe ON review_tasks (tenant_id, dedupe)
    WHERE dedupe != ''""",
    """CREATE TABLE IF NOT EXISTS reviewers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    stats TEXT NOT NULL,
    UNIQUE (tenant_id, name)
)""",
)


def _task(row: sqlite3.Row) -> ReviewTask:
    return task_from_json(row["id"], row["tenant_id"], row["status"], row["version"], row["body"])


def _reviewer(row: sqlite3.Row) -> Reviewer:
    return reviewer_from_row(
        row["id"], row["tenant_id"], row["name"], row["key_id"], row["created_at"], row["stats"]
    )


class SqliteReviewStore:
    """Shares the catalog's SqliteDb (its tenants table): created on it, tables made if missing."""

    def __init__(self, db: SqliteDb) -> None:
        self._db = db

        def create(conn: sqlite3.Connection) -> None:
            for statement in SCHEMA:
                conn.execute(statement)

        db.write_sync(create)

    async def get_review_rules(self, tenant_id: str) -> ReviewRules:
        row = await self._db.read(
            lambda c: c.execute("SELECT rules FROM review_rules WHERE tenant_id = ?", (tenant_id,)).fetchone()
        )
        return rules_from_json(row["rules"] if row else None)

    async def set_review_rules(self, tenant_id: str, rules: ReviewRules) -> None:
        text = rules_json(rules)
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO review_rules (tenant_id, rules) VALUES (?, ?) "
                "ON CONFLICT (tenant_id) DO UPDATE SET rules = excluded.rules",
                (tenant_id, text),
            )
        )

    async def add_tasks(self, tenant_id: str, tasks: Sequence[ReviewTask]) -> list[ReviewTask]:
        def insert(conn: sqlite3.Connection) -> list[ReviewTask]:
            added = []
            for task in tasks:
                cur = conn.execute(
                    "INSERT INTO review_tasks (id, tenant_id, status, version, dedupe, body) "
                    "VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
                    (task.id, tenant_id, task.status, task.dedupe, task_json(task)),
                )
                if cur.rowcount == 1:
                    added.append(task)
            return added

        return await self._db.write(insert)

    async def get_tasks(self, tenant_id: str, task_ids: Sequence[str]) -> dict[str, ReviewTask]:
        ids = list(dict.fromkeys(task_ids))[:1000]
        if not ids:
            return {}
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT * FROM review_tasks WHERE tenant_id = ? AND id IN ({placeholders(len(ids))})",
                (tenant_id, *ids),
            ).fetchall()
        )
        return {r["id"]: _task(r) for r in rows}

    async def list_tasks(
        self, tenant_id: str, status: TaskStatus | None, *, after: str | None, limit: int
    ) -> list[ReviewTask]:
        sql = "SELECT * FROM review_tasks WHERE tenant_id = ? AND id > ?"
        args: list[object] = [tenant_id, after or ""]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        rows = await self._db.read(lambda c: c.execute(sql, args).fetchall())
        return [_task(r) for r in rows]

    async def save_task(self, tenant_id: str, task: ReviewTask) -> ReviewTask | None:
        body = task_json(task)

        def update(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE review_tasks SET status = ?, version = version + 1, body = ? "
                "WHERE tenant_id = ? AND id = ? AND version = ?",
                (task.status, body, tenant_id, task.id, task.version),
            )
            return cur.rowcount == 1

        if not await self._db.write(update):
            return None
        return replace(task, version=task.version + 1)

    async def count_tasks(self, tenant_id: str) -> dict[TaskStatus, int]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT status, count(*) AS n FROM review_tasks WHERE tenant_id = ? GROUP BY status",
                (tenant_id,),
            ).fetchall()
        )
        counts = dict.fromkeys(TaskStatus, 0)
        counts.update({TaskStatus(r["status"]): r["n"] for r in rows})
        return counts

    async def add_reviewer(self, reviewer: Reviewer) -> Reviewer:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO reviewers (id, tenant_id, name, key_id, created_at, stats) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        reviewer.id,
                        reviewer.tenant_id,
                        reviewer.name,
                        reviewer.key_id,
                        to_db_time(reviewer.created_at),
                        reviewer_stats_json(reviewer),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ReviewInputError("NAME_TAKEN", f"the tenant has a reviewer {reviewer.name!r}") from exc

        await self._db.write(insert)
        return reviewer

    async def list_reviewers(self, tenant_id: str) -> list[Reviewer]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM reviewers WHERE tenant_id = ? ORDER BY name", (tenant_id,)
            ).fetchall()
        )
        return [_reviewer(r) for r in rows]

    async def get_reviewer(self, tenant_id: str, reviewer_id: str) -> Reviewer | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM reviewers WHERE tenant_id = ? AND id = ?", (tenant_id, reviewer_id)
            ).fetchone()
        )
        return _reviewer(row) if row else None

    async def reviewer_by_key(self, tenant_id: str, key_id: str) -> Reviewer | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM reviewers WHERE tenant_id = ? AND key_id = ?", (tenant_id, key_id)
            ).fetchone()
        )
        return _reviewer(row) if row else None

    async def save_reviewer(self, reviewer: Reviewer) -> None:
        stats = reviewer_stats_json(reviewer)
        await self._db.write(
            lambda c: c.execute(
                "UPDATE reviewers SET stats = ? WHERE tenant_id = ? AND id = ?",
                (stats, reviewer.tenant_id, reviewer.id),
            )
        )
