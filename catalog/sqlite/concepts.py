"""Feature vectors and custom concepts in the embedded catalog (a mixin of SqliteCatalog, over its SqliteDb).

Vectors are float16 blobs (1280-d: 2.5 KB an asset), keyed by tenant, feature model and asset so one
tenant's vectors of one model are one index range (scoring walks it). Concepts and versions are JSON
records (catalog.domain.concepts.records); examples are rows, one per (concept, asset); the versions'
scores per asset: catalog.sqlite.concept_scores."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from catalog.domain.clock import from_db_time, to_db_time
from catalog.domain.concepts.model import Concept, ConceptExample, ConceptVersion, ExampleSource
from catalog.domain.concepts.records import (
    concept_from_json,
    concept_json,
    version_from_json,
    version_json,
)
from catalog.domain.model import FeatureVector
from catalog.sqlite.concept_scores import SCHEMA as SCORES_SCHEMA
from catalog.sqlite.concept_scores import (
    SqliteConceptScores,
    delete_asset_scores,
    delete_concept_scores,
)
from catalog.sqlite.db import SqliteDb, placeholders

_TABLES = """
CREATE TABLE IF NOT EXISTS asset_features (
    tenant_id TEXT NOT NULL,
    model TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (tenant_id, model, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_features_by_asset ON asset_features (tenant_id, asset_id);
CREATE TABLE IF NOT EXISTS concepts (
    tenant_id TEXT NOT NULL,
    name_key TEXT NOT NULL,
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);
CREATE TABLE IF NOT EXISTS concept_examples (
    tenant_id TEXT NOT NULL,
    concept_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    positive INTEGER NOT NULL,
    source TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, concept_id, asset_id)
);
CREATE TABLE IF NOT EXISTS concept_versions (
    tenant_id TEXT NOT NULL,
    concept_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, concept_id, number)
);
"""
SCHEMA = _TABLES + SCORES_SCHEMA


def name_key(name: str) -> str:
    return name.casefold()


def delete_asset_features(conn: sqlite3.Connection, tenant_id: str, asset_id: str) -> None:
    """The asset's feature vectors and its concept scores."""
    conn.execute("DELETE FROM asset_features WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id))
    delete_asset_scores(conn, tenant_id, asset_id)


def _example(row: sqlite3.Row) -> ConceptExample:
    added = from_db_time(row["added_at"])
    assert added is not None
    return ConceptExample(row["asset_id"], bool(row["positive"]), ExampleSource(row["source"]), added)


def insert_features(conn: sqlite3.Connection, tenant_id: str, asset_id: str, vector: FeatureVector) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO asset_features (tenant_id, model, asset_id, vector) VALUES (?, ?, ?, ?)",
        (tenant_id, vector.model, asset_id, vector.data),
    )


class SqliteConcepts(SqliteConceptScores):
    _db: SqliteDb

    # ------------------------------------------------------------ feature vectors

    async def save_features(self, tenant_id: str, asset_id: str, vector: FeatureVector) -> None:
        await self._db.write(lambda c: insert_features(c, tenant_id, asset_id, vector))

    async def get_features(self, tenant_id: str, asset_ids: Sequence[str], model: str) -> dict[str, bytes]:
        ids = list(dict.fromkeys(asset_ids))
        out: dict[str, bytes] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]

            def select(conn: sqlite3.Connection, chunk: list[str] = chunk) -> list[sqlite3.Row]:
                return conn.execute(
                    "SELECT asset_id, vector FROM asset_features WHERE tenant_id = ? AND model = ? "
                    f"AND asset_id IN ({placeholders(len(chunk))})",
                    (tenant_id, model, *chunk),
                ).fetchall()

            out.update((r["asset_id"], bytes(r["vector"])) for r in await self._db.read(select))
        return out

    async def scan_features(
        self, tenant_id: str, model: str, *, after: str | None, limit: int
    ) -> list[tuple[str, bytes]]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT asset_id, vector FROM asset_features "
                "WHERE tenant_id = ? AND model = ? AND asset_id > ? ORDER BY asset_id LIMIT ?",
                (tenant_id, model, after or "", limit),
            ).fetchall()
        )
        return [(r["asset_id"], bytes(r["vector"])) for r in rows]

    # ------------------------------------------------------------ concepts

    async def create_concept(self, concept: Concept) -> bool:
        def insert(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO concepts (tenant_id, name_key, id, record) VALUES (?, ?, ?, ?)",
                (concept.tenant_id, name_key(concept.name), concept.id, concept_json(concept)),
            )
            return cursor.rowcount == 1

        return await self._db.write(insert)

    async def get_concept(self, tenant_id: str, name: str) -> Concept | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM concepts WHERE tenant_id = ? AND name_key = ?",
                (tenant_id, name_key(name)),
            ).fetchone()
        )
        return concept_from_json(row[0]) if row else None

    async def list_concepts(self, tenant_id: str) -> list[Concept]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM concepts WHERE tenant_id = ? ORDER BY name_key", (tenant_id,)
            ).fetchall()
        )
        return [concept_from_json(r[0]) for r in rows]

    async def save_concept(self, concept: Concept) -> None:
        await self._db.write(
            lambda c: c.execute(
                "UPDATE concepts SET record = ? WHERE tenant_id = ? AND name_key = ? AND id = ?",
                (concept_json(concept), concept.tenant_id, name_key(concept.name), concept.id),
            )
        )

    async def delete_concept(self, tenant_id: str, concept: Concept) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            for table in ("concept_examples", "concept_versions"):
                conn.execute(
                    f"DELETE FROM {table} WHERE tenant_id = ? AND concept_id = ?", (tenant_id, concept.id)
                )
            delete_concept_scores(conn, tenant_id, concept.id)
            conn.execute("DELETE FROM concepts WHERE tenant_id = ? AND id = ?", (tenant_id, concept.id))

        await self._db.write(delete)

    async def put_examples(self, tenant_id: str, concept_id: str, examples: Sequence[ConceptExample]) -> None:
        rows = [
            (tenant_id, concept_id, e.asset_id, int(e.positive), e.source.value, to_db_time(e.added_at))
            for e in examples
        ]
        await self._db.write(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO concept_examples "
                "(tenant_id, concept_id, asset_id, positive, source, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        )

    async def remove_examples(self, tenant_id: str, concept_id: str, asset_ids: Sequence[str]) -> int:
        ids = list(dict.fromkeys(asset_ids))

        def delete(conn: sqlite3.Connection) -> int:
            removed = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                removed += conn.execute(
                    "DELETE FROM concept_examples WHERE tenant_id = ? AND concept_id = ? "
                    f"AND asset_id IN ({placeholders(len(chunk))})",
                    (tenant_id, concept_id, *chunk),
                ).rowcount
            return removed

        return await self._db.write(delete)

    async def list_examples(self, tenant_id: str, concept_id: str) -> list[ConceptExample]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM concept_examples WHERE tenant_id = ? AND concept_id = ? ORDER BY asset_id",
                (tenant_id, concept_id),
            ).fetchall()
        )
        return [_example(r) for r in rows]

    async def add_version(self, version: ConceptVersion) -> bool:
        def insert(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO concept_versions (tenant_id, concept_id, number, record) "
                "VALUES (?, ?, ?, ?)",
                (version.tenant_id, version.concept_id, version.number, version_json(version)),
            )
            return cursor.rowcount == 1

        return await self._db.write(insert)

    async def save_version(self, version: ConceptVersion) -> None:
        await self._db.write(
            lambda c: c.execute(
                "UPDATE concept_versions SET record = ? "
                "WHERE tenant_id = ? AND concept_id = ? AND number = ?",
                (version_json(version), version.tenant_id, version.concept_id, version.number),
            )
        )

    async def get_version(self, tenant_id: str, concept_id: str, number: int) -> ConceptVersion | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM concept_versions WHERE tenant_id = ? AND concept_id = ? AND number = ?",
                (tenant_id, concept_id, number),
            ).fetchone()
        )
        return version_from_json(row[0]) if row else None

    async def list_versions(self, tenant_id: str, concept_id: str) -> list[ConceptVersion]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT record FROM concept_versions WHERE tenant_id = ? AND concept_id = ? "
                "ORDER BY number DESC",
                (tenant_id, concept_id),
            ).fetchall()
        )
        return [version_from_json(r[0]) for r in rows]
