"""The scale-out face collection: identity vectors and persons in the catalog's DynamoDB table.

A tenant's faces share one partition key (TENANT#<t>#FACES, sort key FACE#<asset>#<index>), with the
embedding as binary little-endian float32. `search` reads the tenant's faces with a paginated,
projected Query and matches them by brute force in numpy, exactly like the SQLite adapter: exact, and
fine up to roughly 100k faces per tenant (≈60 MB read per search at 128-d). Beyond that the path is a
vector index (OpenSearch k-NN, or a vector store) fed from these items, with DynamoDB kept as the truth.
A face indexed by a remote collection (Rekognition) has no `embedding` but a `face_id` (its FaceId). Its
`face_box` lets a person link follow the face when the asset's faces are replaced (faces.matching).

Persons live in the tenant's partition (PERSON#<id>); a PERSONNAME#<lowercased name> guard item, written
in the same transaction, keeps names unique per tenant without regard to case, and carries the person
so a lookup by name is one GetItem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.requests import (
    ATTEMPTS,
    ConditionFailed,
    Conflict,
    backoff,
    batch_get,
    bounded,
    query_all,
    query_pages,
    transact,
    transact_chunks,
    update_if_exists,
)
from catalog.dynamodb.values import Item, num, opt_s, s, to_float, to_int


def _person_attributes(p: Person) -> Item:
    created = to_db_time(p.created_at)
    assert created is not None
    return {"id": s(p.id), "tenant_id": s(p.tenant_id), "name": s(p.name), "created_at": s(created)}


def _face_item(
    pk: str,
    asset_id: str,
    index: int,
    embedding: Sequence[float],
    box: BoundingBox,
    face_id: str,
    person: str | None,
) -> Item:
    """A face item; vector, remote FaceId and person only where the face has them."""
    item: Item = {
        **ddb.key(pk, ddb.face_sk(asset_id, index)),
        "asset_id": s(asset_id),
        "face_index": num(index),
        "face_box": {"L": [num(box.left), num(box.top), num(box.width), num(box.height)]},
    }
    vector = np.asarray(embedding, dtype="<f4").tobytes()
    if vector:
        item["embedding"] = {"B": vector}
    if face_id:
        item["face_id"] = s(face_id)
    if person:
        item["person_id"] = s(person)
    return item


def _box(item: Item) -> BoundingBox | None:
    """A face item's box (None for a face stored before boxes were)."""
    if "face_box" not in item:
        return None
    left, top, width, height = (to_float(v) for v in item["face_box"]["L"])
    return BoundingBox(left, top, width, height)


def _unchanged(item: Item | None) -> dict[str, Any]:
    """The condition that the face item is still as read: absent, or with the same write_id."""
    if item is None:
        return {"ConditionExpression": "attribute_not_exists(PK)"}
    if "write_id" not in item:
        return {"ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(write_id)"}
    return {"ConditionExpression": "write_id = :w0", "ExpressionAttributeValues": {":w0": item["write_id"]}}


def _person(item: Item) -> Person:
    created = from_db_time(item["created_at"]["S"])
    assert created is not None
    return Person(item["id"]["S"], item["tenant_id"]["S"], item["name"]["S"], created)


class DynamoFaceCollection:
    """FaceCollection on DynamoDB, with an injected aiobotocore client; shares DynamoCatalog's table."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    async def _asset_faces(self, tenant_id: str, asset_id: str, projection: str, **extra: Any) -> list[Item]:
        return await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={
                ":pk": s(ddb.faces_pk(tenant_id)),
                ":prefix": s(ddb.asset_faces_prefix(asset_id)),
            },
            ProjectionExpression=projection,
            **extra,
        )

    async def index_faces(
        self,
        tenant_id: str,
        asset_id: str,
        embeddings: Sequence[Sequence[float]],
        *,
        boxes: Sequence[BoundingBox],
        face_ids: Sequence[str] = (),
    ) -> list[str]:
        """Read the asset's faces, then write the new ones on condition that none changed meanwhile (each
        write, and assign, stamps a fresh write_id); a concurrent writer makes us read and compute again.
        Atomic for up to 100 faces (one transaction: Rekognition indexes at most 100 per image)."""
        check_faces(embeddings, boxes, face_ids)
        for attempt in range(ATTEMPTS):
            try:
                return await self._replace(tenant_id, asset_id, embeddings, boxes, face_ids)
            except ConditionFailed:
                if attempt == ATTEMPTS - 1:
                    raise
                await backoff(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _replace(
        self,
        tenant_id: str,
        asset_id: str,
        embeddings: Sequence[Sequence[float]],
        boxes: Sequence[BoundingBox],
        face_ids: Sequence[str],
    ) -> list[str]:
        pk = ddb.faces_pk(tenant_id)
        read = await self._asset_faces(
            tenant_id, asset_id, "SK, face_index, face_id, person_id, face_box, write_id"
        )
        old = {to_int(item["face_index"]): item for item in read}
        ordered = [old[i] for i in sorted(old)]
        persons = carried_persons([(_box(item), opt_s(item, "person_id")) for item in ordered], boxes)
        write_id = s(uuid7())
        actions: list[dict[str, Any]] = []
        for i, (embedding, box, person) in enumerate(zip(embeddings, boxes, persons, strict=True)):
            item = _face_item(pk, asset_id, i, embedding, box, face_ids[i] if face_ids else "", person)
            put = {"TableName": self._table, "Item": {**item, "write_id": write_id}, **_unchanged(old.get(i))}
            actions.append({"Put": put})
        actions += [
            {"Delete": {"TableName": self._table, "Key": ddb.key(pk, item["SK"]["S"]), **_unchanged(item)}}
            for i, item in old.items()
            if i >= len(embeddings)
        ]
        await transact_chunks(self._client, actions)
        return replaced_face_ids([opt_s(item, "face_id") or "" for item in ordered], face_ids)

    async def search(
        self, tenant_id: str, embedding: Sequence[float], *, max_distance: float, limit: int
    ) -> list[FaceHit]:
        query = np.asarray(embedding, dtype="<f4")
        size = query.nbytes
        rows: list[Item] = []
        vectors: list[bytes] = []
        pages = query_pages(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(ddb.faces_pk(tenant_id))},
            ProjectionExpression="asset_id, face_index, embedding, person_id",
        )
        async for page in pages:
            for item in page:
                vector = bytes(item["embedding"]["B"]) if "embedding" in item else b""
                if len(vector) == size:  # vectors of another model (or none: remote faces) cannot be compared
                    rows.append(item)
                    vectors.append(vector)
        faces = [(FaceRef(r["asset_id"]["S"], to_int(r["face_index"])), opt_s(r, "person_id")) for r in rows]
        return nearest(faces, vectors, query, max_distance=max_distance, limit=limit)

    async def matches(
        self, tenant_id: str, face: Face, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        return await embedding_matches(
            self.search, tenant_id, face, min_similarity=min_similarity, limit=limit
        )

    async def stored_faces(self, tenant_id: str, asset_ids: Sequence[str]) -> list[StoredFace]:
        pages = await bounded(
            [
                self._asset_faces(tenant_id, asset_id, "asset_id, face_index, face_id, person_id")
                for asset_id in sorted(set(asset_ids))
            ]
        )
        return [
            StoredFace(
                FaceRef(item["asset_id"]["S"], to_int(item["face_index"])),
                opt_s(item, "face_id") or "",
                opt_s(item, "person_id"),
            )
            for page in pages
            for item in page
        ]

    async def create_person(self, tenant_id: str, name: str) -> Person:
        person = Person(id=uuid7(), tenant_id=tenant_id, name=name, created_at=utcnow())
        pk, attributes = ddb.tenant_pk(tenant_id), _person_attributes(person)
        actions = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {**ddb.key(pk, sk), **attributes},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            for sk in (ddb.person_sk(person.id), ddb.person_name_sk(name))
        ]
        try:
            await transact(self._client, actions)
        except ConditionFailed as exc:
            raise Conflict(f"a person named {name!r} exists already") from exc
        return person

    async def person_by_name(self, tenant_id: str, name: str) -> Person | None:
        response = await self._client.get_item(
            TableName=self._table,
            Key=ddb.key(ddb.tenant_pk(tenant_id), ddb.person_name_sk(name)),
            ConsistentRead=True,
        )
        return _person(response["Item"]) if "Item" in response else None

    async def persons(self, tenant_id: str, person_ids: Sequence[str]) -> dict[str, Person]:
        keys = [ddb.key(ddb.tenant_pk(tenant_id), ddb.person_sk(p)) for p in person_ids]
        return {(p := _person(item)).id: p for item in await batch_get(self._client, self._table, keys)}

    async def assign(self, tenant_id: str, faces: Sequence[FaceRef], person_id: str) -> None:
        """Faces that do not exist are skipped; a person of another tenant (or none) changes nothing."""
        if not await self.persons(tenant_id, [person_id]):
            return
        pk = ddb.faces_pk(tenant_id)
        await bounded(
            [
                update_if_exists(
                    self._client,
                    TableName=self._table,
                    Key=ddb.key(pk, ddb.face_sk(f.asset_id, f.face_index)),
                    UpdateExpression="SET person_id = :p, write_id = :w",  # see index_faces
                    ExpressionAttributeValues={":p": s(person_id), ":w": s(uuid7())},
                )
                for f in dict.fromkeys(faces)
            ]
        )

    async def face_persons(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[FaceRef, str]:
        pages = await bounded(
            [
                self._asset_faces(
                    tenant_id,
                    asset_id,
                    "asset_id, face_index, person_id",
                    FilterExpression="attribute_exists(person_id)",
                )
                for asset_id in dict.fromkeys(asset_ids)
            ]
        )
        return {
            FaceRef(item["asset_id"]["S"], to_int(item["face_index"])): item["person_id"]["S"]
            for page in pages
            for item in page
        }

    async def delete_asset(self, tenant_id: str, asset_id: str) -> None:
        items = await self._asset_faces(tenant_id, asset_id, "PK, SK")
        deletes = [
            {"Delete": {"TableName": self._table, "Key": ddb.key(i["PK"]["S"], i["SK"]["S"])}} for i in items
        ]
        await transact_chunks(self._client, deletes)
