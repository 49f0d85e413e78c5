"""The embedded face collection: identity vectors in the catalog DB, matched by brute force in numpy.

Brute force is exact and fast enough for the faces of one tenant on one machine (≈1 ms per 10,000
faces); the scale-out stack would put them in a vector index. Faces indexed by a remote collection
(Rekognition) have an empty vector here and their FaceId in `remote_faces`; every face's box is in
`face_boxes`, so person links follow the face when the asset's faces are replaced (tables of their own, so
catalog files made before them need no migration; faces stored before boxes were have none).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from catalog.domain.clock import from_db_time, to_db_time, utcnow
from catalog.domain.faces.matching import (
    carried_persons,
    check_faces,
    embedding_matches,
    nearest,
    replaced_face_ids,
)
from catalog.domain.ids import uuid7
from catalog.domain.model import BoundingBox, Face, FaceHit, FaceRef, Person
from catalog.domain.ports import FaceMatch, StoredFace
from catalog.sqlite.db import SqliteDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    name_lc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, name_lc)
);
CREATE TABLE IF NOT EXISTS faces (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    face_index INTEGER NOT NULL,
    embedding BLOB NOT NULL,        -- float32 little-endian
    person_id TEXT REFERENCES persons(id),
    PRIMARY KEY (tenant_id, asset_id, face_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remote_faces (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    face_index INTEGER NOT NULL,
    face_id TEXT NOT NULL,          -- the face's ID in the tenant's remote collection (Rekognition FaceId)
    PRIMARY KEY (tenant_id, asset_id, face_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS face_boxes (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    face_index INTEGER NOT NULL,
    box_left REAL NOT NULL,         -- ratios of the image's width and height, as BoundingBox
    box_top REAL NOT NULL,
    box_width REAL NOT NULL,
    box_height REAL NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, face_index)
) WITHOUT ROWID;
"""

_ASSET_TABLES = ("faces", "remote_faces", "face_boxes")


def _box(row: sqlite3.Row) -> BoundingBox | None:
    """The stored box of a face row (None for a face stored before boxes were)."""
    if row["box_left"] is None:
        return None
    return BoundingBox(row["box_left"], row["box_top"], row["box_width"], row["box_height"])


def _person(row: sqlite3.Row) -> Person:
    created = from_db_time(row["created_at"])
    assert created is not None
    return Person(id=row["id"], tenant_id=row["tenant_id"], name=row["name"], created_at=created)


class SqliteFaceCollection:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def index_faces(
        self,
        tenant_id: str,
        asset_id: str,
        embeddings: Sequence[Sequence[float]],
        *,
        boxes: Sequence[BoundingBox],
        face_ids: Sequence[str] = (),
    ) -> list[str]:
        check_faces(embeddings, boxes, face_ids)
        vectors = [np.asarray(e, dtype="<f4").tobytes() for e in embeddings]
        key = (tenant_id, asset_id)

        def write(conn: sqlite3.Connection) -> list[str]:  # one IMMEDIATE transaction: read, then replace
            old = conn.execute(
                "SELECT f.person_id, b.box_left, b.box_top, b.box_width, b.box_height FROM faces f "
                "LEFT JOIN face_boxes b ON b.tenant_id = f.tenant_id AND b.asset_id = f.asset_id "
                "AND b.face_index = f.face_index "
                "WHERE f.tenant_id = ? AND f.asset_id = ? ORDER BY f.face_index",
                key,
            ).fetchall()
            old_ids = [
                r[0]
                for r in conn.execute(
                    "SELECT face_id FROM remote_faces "
                    "WHERE tenant_id = ? AND asset_id = ? ORDER BY face_index",
                    key,
                )
            ]
            persons = carried_persons([(_box(r), r["person_id"]) for r in old], boxes)
            for table in _ASSET_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", key)
            conn.executemany(
                "INSERT INTO faces (tenant_id, asset_id, face_index, embedding, person_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [(*key, i, v, p) for i, (v, p) in enumerate(zip(vectors, persons, strict=True))],
            )
            conn.executemany(
                "INSERT INTO face_boxes (tenant_id, asset_id, face_index, box_left, box_top, box_width, "
                "box_height) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*key, i, b.left, b.top, b.width, b.height) for i, b in enumerate(boxes)],
            )
            conn.executemany(
                "INSERT INTO remote_faces (tenant_id, asset_id, face_index, face_id) VALUES (?, ?, ?, ?)",
                [(*key, i, f) for i, f in enumerate(face_ids) if f],
            )
            return replaced_face_ids(old_ids, face_ids)

        return await self._db.write(write)

    async def search(
        self, tenant_id: str, embedding: Sequence[float], *, max_distance: float, limit: int
    ) -> list[FaceHit]:
        query = np.asarray(embedding, dtype="<f4")
        rows = await self._db.read(  # vectors of another model (or none: remote faces) cannot be compared
            lambda c: c.execute(
                "SELECT asset_id, face_index, embedding, person_id FROM faces "
                "WHERE tenant_id = ? AND length(embedding) = ?",
                (tenant_id, query.nbytes),
            ).fetchall()
        )
        faces = [(FaceRef(r["asset_id"], r["face_index"]), r["person_id"]) for r in rows]
        return nearest(faces, [r["embedding"] for r in rows], query, max_distance=max_distance, limit=limit)

    async def matches(
        self, tenant_id: str, face: Face, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        return await embedding_matches(
            self.search, tenant_id, face, min_similarity=min_similarity, limit=limit
        )

    async def stored_faces(self, tenant_id: str, asset_ids: Sequence[str]) -> list[StoredFace]:
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            return []
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT f.asset_id, f.face_index, f.person_id, r.face_id FROM faces f "
                "LEFT JOIN remote_faces r ON r.tenant_id = f.tenant_id AND r.asset_id = f.asset_id "
                "AND r.face_index = f.face_index "
                f"WHERE f.tenant_id = ? AND f.asset_id IN ({','.join('?' * len(ids))}) "
                "ORDER BY f.asset_id, f.face_index",
                (tenant_id, *ids),
            ).fetchall()
        )
        return [
            StoredFace(FaceRef(r["asset_id"], r["face_index"]), r["face_id"] or "", r["person_id"])
            for r in rows
        ]

    async def create_person(self, tenant_id: str, name: str) -> Person:
        person = Person(id=uuid7(), tenant_id=tenant_id, name=name, created_at=utcnow())
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO persons (id, tenant_id, name, name_lc, created_at) VALUES (?, ?, ?, ?, ?)",
                (person.id, tenant_id, name, name.lower(), to_db_time(person.created_at)),
            )
        )
        return person

    async def person_by_name(self, tenant_id: str, name: str) -> Person | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM persons WHERE tenant_id = ? AND name_lc = ?", (tenant_id, name.lower())
            ).fetchone()
        )
        return _person(row) if row else None

    async def persons(self, tenant_id: str, person_ids: Sequence[str]) -> dict[str, Person]:
        ids = list(dict.fromkeys(person_ids))
        if not ids:
            return {}
        rows = await self._db.read(
            lambda c: c.execute(
                f"SELECT * FROM persons WHERE tenant_id = ? AND id IN ({','.join('?' * len(ids))})",
                (tenant_id, *ids),
            ).fetchall()
        )
        return {row["id"]: _person(row) for row in rows}

    async def assign(self, tenant_id: str, faces: Sequence[FaceRef], person_id: str) -> None:
        await self._db.write(
            lambda c: c.executemany(
                "UPDATE faces SET person_id = ? WHERE tenant_id = ? AND asset_id = ? AND face_index = ? "
                "AND EXISTS (SELECT 1 FROM persons WHERE id = ? AND tenant_id = ?)",
                [(person_id, tenant_id, f.asset_id, f.face_index, person_id, tenant_id) for f in faces],
            )
        )

    async def face_persons(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[FaceRef, str]:
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            return {}
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT asset_id, face_index, person_id FROM faces "
                f"WHERE tenant_id = ? AND person_id IS NOT NULL AND asset_id IN ({','.join('?' * len(ids))})",
                (tenant_id, *ids),
            ).fetchall()
        )
        return {FaceRef(r["asset_id"], r["face_index"]): r["person_id"] for r in rows}

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            for table in _ASSET_TABLES:
                conn.execute(
                    f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id)
                )

        await self._db.write(delete)
