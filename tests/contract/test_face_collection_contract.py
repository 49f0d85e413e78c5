"""FaceCollection contract: every adapter (SQLite, DynamoDB Local) passes the same tests."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import BoundingBox, Face, FaceRef
from catalog.domain.ports import CatalogStore, FaceCollection, StoredFace
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.dynamodb.faces import DynamoFaceCollection
from catalog.dynamodb.requests import Conflict
from catalog.sqlite import catalog as sqlite_catalog
from catalog.sqlite import faces as sqlite_faces
from catalog.sqlite.catalog import SqliteCatalog
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.faces import SqliteFaceCollection
from tests.contract.catalogs import new_asset
from tests.contract.dynamodb_server import fresh_table

CONFLICT = (sqlite3.IntegrityError, Conflict)
DIM = 128


@dataclass
class Stores:
    catalog: CatalogStore
    faces: FaceCollection

    async def tenant_with_assets(self, name: str, count: int) -> tuple[str, list[str]]:
        tenant = (await self.catalog.create_tenant(name)).id
        assets = [(await self.catalog.register_asset(new_asset(tenant, uuid7())))[0].id for _ in range(count)]
        return tenant, assets


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.dynamodb)])
def backend(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """The adapter's name and, for DynamoDB, the session's client (set up here, outside the event loop)."""
    if request.param == "dynamodb":
        return "dynamodb", request.getfixturevalue("dynamodb_client")
    return "sqlite", None


@pytest.fixture
async def stores(backend: tuple[str, Any], tmp_path: Path) -> AsyncIterator[Stores]:
    name, client = backend
    if name == "sqlite":
        db = SqliteDb(tmp_path / "catalog.db", sqlite_catalog.SCHEMA + sqlite_faces.SCHEMA)
        try:
            yield Stores(SqliteCatalog(db), SqliteFaceCollection(db))
        finally:
            db.close()
    else:
        async with fresh_table(client) as table:
            yield Stores(DynamoCatalog(client, table), DynamoFaceCollection(client, table))


def vectors(count: int, seed: int) -> list[list[float]]:
    """Random unit vectors: pairwise distances ≈ 1.4, far beyond any same-person threshold."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(count, DIM))
    return (raw / np.linalg.norm(raw, axis=1, keepdims=True)).tolist()  # type: ignore[no-any-return]


def spots(count: int) -> list[BoundingBox]:
    """Boxes of `count` (≤ 3) faces side by side, overlapping none of the others."""
    return [BoundingBox(0.05 + 0.3 * i, 0.1, 0.2, 0.3) for i in range(count)]


def moved(box: BoundingBox, dx: float) -> BoundingBox:
    return BoundingBox(box.left + dx, box.top, box.width, box.height)


def near(vector: list[float], distance: float) -> list[float]:
    """A vector `distance` away from `vector` (along the first axis)."""
    return [vector[0] + distance, *vector[1:]]


async def test_search_finds_nearest_first_within_distance(stores: Stores) -> None:
    tenant, (one, two) = await stores.tenant_with_assets("acme", 2)
    va, vb = vectors(2, seed=1), vectors(1, seed=2)
    await stores.faces.index_faces(tenant, one, va, boxes=spots(2))
    await stores.faces.index_faces(tenant, two, [near(va[0], 0.2), *vb], boxes=spots(2))

    hits = await stores.faces.search(tenant, near(va[0], 0.05), max_distance=0.6, limit=10)
    assert [h.face for h in hits] == [FaceRef(one, 0), FaceRef(two, 0)]
    assert hits[0].distance == pytest.approx(0.05, abs=1e-5)
    assert hits[1].distance == pytest.approx(0.15, abs=1e-5)
    assert all(h.person_id is None for h in hits)
    assert [h.face for h in await stores.faces.search(tenant, va[0], max_distance=0.6, limit=1)] == [
        FaceRef(one, 0)
    ]
    assert await stores.faces.search(tenant, near(va[0], 1.0), max_distance=0.6, limit=10) == []
    assert await stores.faces.search(tenant, [0.0] * 64, max_distance=10, limit=10) == []  # other model


async def test_persons_have_unique_names_per_tenant_regardless_of_case(stores: Stores) -> None:
    a, _ = await stores.tenant_with_assets("a", 0)
    b, _ = await stores.tenant_with_assets("b", 0)
    ada = await stores.faces.create_person(a, "Ada Lovelace")
    assert (ada.tenant_id, ada.name) == (a, "Ada Lovelace")
    assert await stores.faces.person_by_name(a, "ada LOVELACE") == ada
    assert await stores.faces.person_by_name(a, "Grace Hopper") is None
    with pytest.raises(CONFLICT):
        await stores.faces.create_person(a, "ADA LOVELACE")
    assert await stores.faces.persons(a, [ada.id, ada.id, uuid7()]) == {ada.id: ada}

    other = await stores.faces.create_person(b, "Ada Lovelace")  # another tenant may use the name
    assert other.id != ada.id
    assert await stores.faces.persons(b, [ada.id]) == {}
    assert await stores.faces.person_by_name(b, "Ada Lovelace") == other


async def test_assign_and_reindex_keep_links_of_kept_faces(stores: Stores) -> None:
    tenant, (one, two) = await stores.tenant_with_assets("acme", 2)
    faces = vectors(3, seed=3)
    await stores.faces.index_faces(tenant, one, faces, boxes=spots(3))
    await stores.faces.index_faces(tenant, two, vectors(1, seed=4), boxes=spots(1))
    ada = await stores.faces.create_person(tenant, "Ada")
    await stores.faces.assign(tenant, [FaceRef(one, 0), FaceRef(one, 2), FaceRef(one, 9)], ada.id)
    assert await stores.faces.face_persons(tenant, [one, two]) == {
        FaceRef(one, 0): ada.id,
        FaceRef(one, 2): ada.id,
    }
    [hit] = await stores.faces.search(tenant, faces[2], max_distance=0.1, limit=5)
    assert (hit.face, hit.person_id) == (FaceRef(one, 2), ada.id)

    await stores.faces.index_faces(
        tenant, one, faces[:2], boxes=spots(2)
    )  # the third is gone, the first keeps Ada
    assert await stores.faces.face_persons(tenant, [one]) == {FaceRef(one, 0): ada.id}
    assert await stores.faces.search(tenant, faces[2], max_distance=0.1, limit=5) == []


async def test_faces_and_persons_are_tenant_scoped(stores: Stores) -> None:
    a, (asset,) = await stores.tenant_with_assets("a", 1)
    b, (own,) = await stores.tenant_with_assets("b", 1)
    [face] = vectors(1, seed=5)
    await stores.faces.index_faces(a, asset, [face], boxes=spots(1))
    await stores.faces.index_faces(b, own, vectors(1, seed=6), boxes=spots(1))
    ada_a = await stores.faces.create_person(a, "Ada")
    ada_b = await stores.faces.create_person(b, "Ada")

    assert await stores.faces.search(b, face, max_distance=0.5, limit=10) == []
    await stores.faces.assign(b, [FaceRef(asset, 0)], ada_b.id)  # b cannot name a's face
    await stores.faces.assign(a, [FaceRef(asset, 0)], ada_b.id)  # nor lend its person to a
    assert await stores.faces.face_persons(a, [asset]) == {}
    assert await stores.faces.face_persons(b, [asset]) == {}
    await stores.faces.assign(a, [FaceRef(asset, 0)], ada_a.id)
    assert await stores.faces.face_persons(a, [asset]) == {FaceRef(asset, 0): ada_a.id}
    assert await stores.faces.face_persons(b, [asset]) == {}
    await stores.faces.delete_asset(b, asset)  # b cannot delete a's faces
    assert len(await stores.faces.search(a, face, max_distance=0.5, limit=10)) == 1


async def test_delete_asset_removes_its_faces_only(stores: Stores) -> None:
    tenant, (one, two) = await stores.tenant_with_assets("acme", 2)
    va, vb = vectors(2, seed=7), vectors(1, seed=8)
    await stores.faces.index_faces(tenant, one, va, boxes=spots(2))
    await stores.faces.index_faces(tenant, two, vb, boxes=spots(1))
    ada = await stores.faces.create_person(tenant, "Ada")
    await stores.faces.assign(tenant, [FaceRef(one, 1), FaceRef(two, 0)], ada.id)

    await stores.faces.delete_asset(tenant, one)
    assert await stores.faces.search(tenant, va[1], max_distance=0.5, limit=10) == []
    assert await stores.faces.face_persons(tenant, [one, two]) == {FaceRef(two, 0): ada.id}
    [hit] = await stores.faces.search(tenant, vb[0], max_distance=0.5, limit=10)
    assert hit.face == FaceRef(two, 0)


async def test_remote_face_ids_are_kept_replaced_and_deleted_with_the_faces(stores: Stores) -> None:
    """Faces indexed by a remote collection (Rekognition) carry a FaceId and no vector."""
    tenant, (one, two) = await stores.tenant_with_assets("acme", 2)
    other, _ = await stores.tenant_with_assets("other", 0)
    f1, f2, f3 = (str(uuid.UUID(int=n)) for n in (1, 2, 3))
    [vector] = vectors(1, seed=9)
    await stores.faces.index_faces(tenant, one, [[], vector, []], boxes=spots(3), face_ids=[f1, "", f2])
    await stores.faces.index_faces(tenant, two, vectors(1, seed=10), boxes=spots(1))
    assert await stores.faces.stored_faces(tenant, [two, one, one]) == [
        StoredFace(FaceRef(one, 0), f1, None),
        StoredFace(FaceRef(one, 1), "", None),
        StoredFace(FaceRef(one, 2), f2, None),
        StoredFace(FaceRef(two, 0), "", None),
    ]
    assert await stores.faces.stored_faces(other, [one]) == []
    with pytest.raises(ValueError, match="face_ids"):
        await stores.faces.index_faces(tenant, one, [[]], boxes=spots(1), face_ids=[f1, f2])

    # Vectors still match by distance (the faces without one take no part), on the 0–100 scale.
    [hit] = await stores.faces.search(tenant, vector, max_distance=0.1, limit=10)
    assert hit.face == FaceRef(one, 1)
    probe = Face(box=BoundingBox(0, 0, 1, 1), confidence=99.0, embedding=tuple(near(vector, 0.3)))
    [found] = await stores.faces.matches(tenant, probe, min_similarity=85.0, limit=10)
    assert (found.face, found.similarity, found.person_id) == (FaceRef(one, 1), 90.0, None)
    assert await stores.faces.matches(tenant, probe, min_similarity=95.0, limit=10) == []
    remote_only = Face(box=BoundingBox(0, 0, 1, 1), confidence=99.0, face_id=f1)
    assert await stores.faces.matches(tenant, remote_only, min_similarity=0.0, limit=10) == []

    # Re-indexed: new FaceIds replace the old ones, the person link of the face in the same place survives.
    ada = await stores.faces.create_person(tenant, "Ada")
    await stores.faces.assign(tenant, [FaceRef(one, 0)], ada.id)
    assert await stores.faces.index_faces(tenant, one, [[]], boxes=spots(1), face_ids=[f3]) == [f1, f2]
    assert await stores.faces.stored_faces(tenant, [one]) == [StoredFace(FaceRef(one, 0), f3, ada.id)]
    # back to local: no FaceId left
    assert await stores.faces.index_faces(tenant, one, [vector], boxes=spots(1)) == [f3]
    assert await stores.faces.stored_faces(tenant, [one]) == [StoredFace(FaceRef(one, 0), "", ada.id)]
    await stores.faces.index_faces(tenant, one, [[]], boxes=spots(1), face_ids=[f3])
    await stores.faces.delete_asset(tenant, one)
    assert await stores.faces.stored_faces(tenant, [one]) == []


async def test_reindexed_faces_keep_their_persons_wherever_they_land(stores: Stores) -> None:
    """Links follow the face's box (IoU ≥ 0.5), not its face_index: a re-analysis that drops or reorders
    faces must not move a name onto another face of the asset."""
    tenant, (one,) = await stores.tenant_with_assets("acme", 1)
    faces = vectors(3, seed=11)
    left, middle, right = spots(3)
    await stores.faces.index_faces(tenant, one, faces, boxes=[left, middle, right])
    ada = await stores.faces.create_person(tenant, "Ada")
    grace = await stores.faces.create_person(tenant, "Grace")
    await stores.faces.assign(tenant, [FaceRef(one, 0)], ada.id)
    await stores.faces.assign(tenant, [FaceRef(one, 2)], grace.id)

    # the middle face is gone and the right one comes first; the boxes moved a little
    await stores.faces.index_faces(
        tenant, one, [faces[2], faces[0]], boxes=[moved(right, 0.02), moved(left, -0.01)]
    )
    assert await stores.faces.face_persons(tenant, [one]) == {
        FaceRef(one, 0): grace.id,
        FaceRef(one, 1): ada.id,
    }
    [hit] = await stores.faces.search(tenant, faces[0], max_distance=0.1, limit=5)
    assert (hit.face, hit.person_id) == (FaceRef(one, 1), ada.id)

    # a face somewhere else: no match, so nobody's name
    await stores.faces.index_faces(tenant, one, [faces[0]], boxes=[BoundingBox(0.3, 0.6, 0.2, 0.3)])
    assert await stores.faces.face_persons(tenant, [one]) == {}
    with pytest.raises(ValueError, match="boxes"):
        await stores.faces.index_faces(tenant, one, faces, boxes=spots(2))


async def test_each_replaced_face_id_is_reported_by_the_write_that_replaced_it(stores: Stores) -> None:
    tenant, (one,) = await stores.tenant_with_assets("acme", 1)
    f1, f2, f3, f4 = (str(uuid.UUID(int=n)) for n in (1, 2, 3, 4))
    [vector] = vectors(1, seed=12)
    assert await stores.faces.index_faces(tenant, one, [[], []], boxes=spots(2), face_ids=[f1, f2]) == []
    assert await stores.faces.index_faces(tenant, one, [[], []], boxes=spots(2), face_ids=[f2, f3]) == [f1]
    assert await stores.faces.index_faces(tenant, one, [vector], boxes=spots(1)) == [f2, f3]
    assert await stores.faces.index_faces(tenant, one, [[]], boxes=spots(1), face_ids=[f4]) == []

    # Two workers re-index the asset at once: whichever wins, every FaceId no longer stored is reported
    # once, by the write that dropped it (two reads before both writes would report f4 twice and the
    # loser's FaceId never: left in the remote collection for good).
    for _ in range(3):
        first, second = await asyncio.gather(
            *(stores.faces.index_faces(tenant, one, [[]], boxes=spots(1), face_ids=[f]) for f in (f1, f2))
        )
        [kept] = await stores.faces.stored_faces(tenant, [one])
        loser = f2 if kept.face_id == f1 else f1
        assert sorted(first + second) == sorted([f4, loser])
        assert await stores.faces.index_faces(tenant, one, [[]], boxes=spots(1), face_ids=[f4]) == [
            kept.face_id
        ]
