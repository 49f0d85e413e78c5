"""Concept versions' scores per asset in the embedded catalog (a mixin of SqliteCatalog): one row per
(tenant, concept, version, asset), and an index on the score so a version's top and the band around its
threshold are index range reads. Scores are integers (millionths of the probability), compared exactly."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from catalog.domain.concepts.ports import SCORE_UNITS, ScoreCursor
from catalog.sqlite.db import SqliteDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS concept_scores (
    tenant_id TEXT NOT NULL,
    concept_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    asset_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, concept_id, version, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS concept_scores_ranked ON concept_scores (tenant_id, concept_id, version, score);
CREATE INDEX IF NOT EXISTS concept_scores_by_asset ON concept_scores (tenant_id, asset_id);
"""


def units(probability: float) -> int:
    return round(probability * SCORE_UNITS)


def delete_asset_scores(conn: sqlite3.Connection, tenant_id: str, asset_id: str) -> None:
    conn.execute("DELETE FROM concept_scores WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id))


def delete_concept_scores(conn: sqlite3.Connection, tenant_id: str, concept_id: str) -> None:
    conn.execute("DELETE FROM concept_scores WHERE tenant_id = ? AND concept_id = ?", (tenant_id, concept_id))


class SqliteConceptScores:
    _db: SqliteDb

    async def save_concept_scores(
        self, tenant_id: str, concept_id: str, version: int, scores: Sequence[tuple[str, float]]
    ) -> None:
        rows = [(tenant_id, concept_id, version, a, units(p)) for a, p in scores]
        if rows:
            await self._db.write(
                lambda c: c.executemany(
                    "INSERT OR REPLACE INTO concept_scores (tenant_id, concept_id, version, asset_id, score) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            )

    async def ranked_concept_scores(
        self,
        tenant_id: str,
        concept_id: str,
        version: int,
        *,
        descending: bool,
        start: ScoreCursor | None,
        limit: int,
    ) -> list[tuple[str, float]]:
        order = "DESC" if descending else "ASC"
        where = ""
        args: tuple[object, ...] = ()
        if start is not None:  # a row-value comparison: the index range after (score, asset ID)
            where = f"AND (score, asset_id) {'<' if descending else '>'} (?, ?) "
            args = (units(start[0]), start[1])
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT asset_id, score FROM concept_scores "
                f"WHERE tenant_id = ? AND concept_id = ? AND version = ? {where}"
                f"ORDER BY score {order}, asset_id {order} LIMIT ?",
                (tenant_id, concept_id, version, *args, max(limit, 0)),
            ).fetchall()
        )
        return [(r["asset_id"], r["score"] / SCORE_UNITS) for r in rows]
