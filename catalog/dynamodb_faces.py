"""The scale-out face collection: identity vectors and persons in the catalog's DynamoDB table.

A tenant's faces share one partition key (TENANT#<t>#FACES, sort key FACE#<asset>#<index>), with the
embedding as binary little-endian float32. `search` reads the tenant's faces with a paginated,
projected Query and matches them by brute force in numpy, exactly like the SQLite adapter: exact, and
fine up to roughly 100k faces per tenant (≈60 MB read per search at 128-d). Beyond that the path is a
vector index (OpenSearch k-NN, or a vector store) fed from these items, with DynamoDB kept as the truth.
A face indexed by a remote collection (Rekognition) has no `embedding` but a `face_id` (its FaceId).

Persons live in the tenant's partition (PERSON#<id>); a PERSONNAME#<lowercased name> guard item, written
in the same transaction, keeps names unique per tenant without regard to case, and carries the person
so a lookup by name is one GetItem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from catalog import dynamodb_schema as ddb
from catalog.dynamodb_schema import Item, num, s, to_int
from catalog.face_matching import embedding_matches, nearest
from catalog.ids import uuid7
from catalog.model import Face, FaceHit, FaceRef, Person
from catalog.ports import FaceMatch, StoredFace
from catalog.sqlite_db import from_db_time, to_db_time, utcnow


def _person_attributes(p: Person) -> Item:
    created = to_db_time(p.created_at)
    assert created is not None
    return {"id": s(p.id), "tenant_id": s(p.tenant_id), "name": s(p.name), "created_at": s(created)}


def _face_update(asset_id: str, index: int, embedding: Sequence[float], face_id: str) -> dict[str, Any]:
    """SET the face's place, and its vector and remote FaceId where it has them (REMOVE them otherwise)."""
    values: Item = {":a": s(asset_id), ":i": num(index)}
    sets, removes = ["asset_id = :a", "face_index = :i"], []
    vector = np.asarray(embedding, dtype="<f4").tobytes()
    if vector:
        sets.append("embedding = :e")
        values[":e"] = {"B": vector}
    else:
        removes.append("embedding")
    if face_id:
        sets.append("face_id = :f")
        values[":f"] = s(face_id)
    else:
        removes.append("face_id")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {"UpdateExpression": expression, "ExpressionAttributeValues": values}


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
        return await ddb.query_all(
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
        face_ids: Sequence[str] = (),
    ) -> None:
        if face_ids and len(face_ids) != len(embeddings):
            raise ValueError(f"{len(face_ids)} face_ids for {len(embeddings)} faces")
        pk = ddb.faces_pk(tenant_id)
        existing = await self._asset_faces(tenant_id, asset_id, "SK, face_index")
        actions: list[dict[str, Any]] = [
            {  # an update, not a put: the face's person link survives re-indexing
                "Update": {
                    "TableName": self._table,
                    "Key": ddb.key(pk, ddb.face_sk(asset_id, i)),
                    **_face_update(asset_id, i, e, face_ids[i] if face_ids else ""),
                }
            }
            for i, e in enumerate(embeddings)
        ]
        actions += [
            {"Delete": {"TableName": self._table, "Key": ddb.key(pk, item["SK"]["S"])}}
            for item in existing
            if to_int(item["face_index"]) >= len(embeddings)
        ]
        await ddb.transact_chunks(self._client, actions)

    async def search(
        self, tenant_id: str, embedding: Sequence[float], *, max_distance: float, limit: int
    ) -> list[FaceHit]:
        query = np.asarray(embedding, dtype="<f4")
        size = query.nbytes
        rows: list[Item] = []
        vectors: list[bytes] = []
        pages = ddb.query_pages(
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
        faces = [
            (FaceRef(r["asset_id"]["S"], to_int(r["face_index"])), ddb.opt_s(r, "person_id")) for r in rows
        ]
        return nearest(faces, vectors, query, max_distance=max_distance, limit=limit)

    async def matches(
        self, tenant_id: str, face: Face, *, min_similarity: float, limit: int
    ) -> list[FaceMatch]:
        return await embedding_matches(
            self.search, tenant_id, face, min_similarity=min_similarity, limit=limit
        )

    async def stored_faces(self, tenant_id: str, asset_ids: Sequence[str]) -> list[StoredFace]:
        pages = await ddb.bounded(
            [
                self._asset_faces(tenant_id, asset_id, "asset_id, face_index, face_id, person_id")
                for asset_id in sorted(set(asset_ids))
            ]
        )
        return [
            StoredFace(
                FaceRef(item["asset_id"]["S"], to_int(item["face_index"])),
                ddb.opt_s(item, "face_id") or "",
                ddb.opt_s(item, "person_id"),
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
            await ddb.transact(self._client, actions)
        except ddb.ConditionFailed as exc:
            raise ddb.Conflict(f"a person named {name!r} exists already") from exc
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
        return {(p := _person(item)).id: p for item in await ddb.batch_get(self._client, self._table, keys)}

    async def assign(self, tenant_id: str, faces: Sequence[FaceRef], person_id: str) -> None:
        """Faces that do not exist are skipped; a person of another tenant (or none) changes nothing."""
        if not await self.persons(tenant_id, [person_id]):
            return
        pk = ddb.faces_pk(tenant_id)
        await ddb.bounded(
            [
                ddb.update_if_exists(
                    self._client,
                    TableName=self._table,
                    Key=ddb.key(pk, ddb.face_sk(f.asset_id, f.face_index)),
                    UpdateExpression="SET person_id = :p",
                    ExpressionAttributeValues={":p": s(person_id)},
                )
                for f in dict.fromkeys(faces)
            ]
        )

    async def face_persons(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[FaceRef, str]:
        pages = await ddb.bounded(
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
        await ddb.transact_chunks(self._client, deletes)
