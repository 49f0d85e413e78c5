"""Feature vectors and custom concepts in the scale-out catalog.

Layout: an asset's feature vector lives in its result partition (PK T#<tenant>#ASSET#<id>, SK
FEATURES#<model>, the float16 bytes as a Binary attribute), so it is read by key and deleted with the
asset's results. A scan walks the tenant's asset keys in ID order and fetches their vectors by key.
Concepts: PK TENANT#<tenant>#CONCEPTS, SK the name case-folded (its uniqueness is the key's); a concept's
examples (SK EX#<asset>), versions (SK V#<number, 6 digits>) and the versions' scores per asset
(catalog.dynamodb.concept_scores) share PK TENANT#<tenant>#CONCEPT#<id>."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from catalog.domain.clock import from_db_time
from catalog.domain.concepts.model import Concept, ConceptExample, ConceptVersion, ExampleSource
from catalog.domain.concepts.records import (
    concept_from_json,
    concept_json,
    version_from_json,
    version_json,
)
from catalog.domain.model import FeatureVector
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import time_s
from catalog.dynamodb.concept_scores import DynamoConceptScores, concept_pk, is_score_sk
from catalog.dynamodb.requests import (
    batch_delete,
    batch_get,
    batch_put,
    error_code,
    query_all,
    transact_chunks,
)
from catalog.dynamodb.values import Item, s


def _features_sk(model: str) -> str:
    return f"FEATURES#{model}"


def _concepts_pk(tenant_id: str) -> str:
    return f"{ddb.tenant_pk(tenant_id)}#CONCEPTS"


def _version_sk(number: int) -> str:
    return f"V#{number:06d}"


def _example(item: Item) -> ConceptExample:
    added = from_db_time(item["added_at"]["S"])
    assert added is not None
    return ConceptExample(
        item["SK"]["S"][3:], item["positive"]["BOOL"], ExampleSource(item["source"]["S"]), added
    )


def _concept_item(concept: Concept) -> Item:
    return {
        **ddb.key(_concepts_pk(concept.tenant_id), concept.name.casefold()),
        "cid": s(concept.id),
        "record": s(concept_json(concept)),
    }


class DynamoConcepts(DynamoConceptScores):
    async def _put_if(self, item: Item, condition: str, values: dict[str, Any] | None = None) -> bool:
        """PutItem under a condition; False when the condition failed."""
        try:
            await self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------ feature vectors

    async def save_features(self, tenant_id: str, asset_id: str, vector: FeatureVector) -> None:
        item = {
            **ddb.key(ddb.result_pk(tenant_id, asset_id), _features_sk(vector.model)),
            "v": {"B": vector.data},
        }
        await self._client.put_item(TableName=self._table, Item=item)

    async def get_features(self, tenant_id: str, asset_ids: Sequence[str], model: str) -> dict[str, bytes]:
        keys = [ddb.key(ddb.result_pk(tenant_id, a), _features_sk(model)) for a in dict.fromkeys(asset_ids)]
        prefix = len(ddb.result_pk(tenant_id, ""))
        return {
            item["PK"]["S"][prefix:]: bytes(item["v"]["B"])
            for item in await batch_get(self._client, self._table, keys)
        }

    async def scan_features(
        self, tenant_id: str, model: str, *, after: str | None, limit: int
    ) -> list[tuple[str, bytes]]:
        if limit <= 0:
            return []
        while True:
            items = await self._tenant_range(
                tenant_id,
                ddb.asset_sk(after or ""),
                ddb.ASSET_END,
                limit,
                skip_id=after,
                Limit=limit + 1,  # BETWEEN is inclusive: the `after` asset itself may come first
                ProjectionExpression="#id",
                ExpressionAttributeNames={"#id": "id"},
            )
            ids = [i["id"]["S"] for i in items]
            found = await self.get_features(tenant_id, ids, model)
            if found or len(ids) < limit:
                return [(a, found[a]) for a in ids if a in found]
            # a page of assets without a vector of the model (videos, keyframes, not analysed yet): an empty
            # answer would end the caller's scan, so read on
            after = ids[-1]

    # ------------------------------------------------------------ concepts

    async def create_concept(self, concept: Concept) -> bool:
        return await self._put_if(_concept_item(concept), "attribute_not_exists(PK)")

    async def get_concept(self, tenant_id: str, name: str) -> Concept | None:
        item = await self._get(_concepts_pk(tenant_id), name.casefold())
        return concept_from_json(item["record"]["S"]) if item else None

    async def list_concepts(self, tenant_id: str) -> list[Concept]:
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(_concepts_pk(tenant_id))},
        )
        return [concept_from_json(i["record"]["S"]) for i in items]

    async def save_concept(self, concept: Concept) -> None:
        # deleted (or replaced by another of that name) meanwhile: nothing, as SQLite's UPDATE
        await self._put_if(_concept_item(concept), "cid = :id", {":id": s(concept.id)})

    async def delete_concept(self, tenant_id: str, concept: Concept) -> None:
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(concept_pk(tenant_id, concept.id))},
            ProjectionExpression="PK, SK",
        )
        keys = [ddb.key(i["PK"]["S"], i["SK"]["S"]) for i in items]
        # its scores first, many at once (an interrupted deletion leaves the concept, to delete again)
        await batch_delete(self._client, self._table, [k for k in keys if is_score_sk(k["SK"]["S"])])
        keys = [k for k in keys if not is_score_sk(k["SK"]["S"])]
        keys.append(ddb.key(_concepts_pk(tenant_id), concept.name.casefold()))
        await transact_chunks(self._client, [{"Delete": {"TableName": self._table, "Key": k}} for k in keys])

    async def put_examples(self, tenant_id: str, concept_id: str, examples: Sequence[ConceptExample]) -> None:
        pk = concept_pk(tenant_id, concept_id)
        items = {
            e.asset_id: {
                **ddb.key(pk, f"EX#{e.asset_id}"),
                "positive": {"BOOL": e.positive},
                "source": s(e.source.value),
                "added_at": time_s(e.added_at),
            }
            for e in examples
        }
        await batch_put(self._client, self._table, list(items.values()))

    async def remove_examples(self, tenant_id: str, concept_id: str, asset_ids: Sequence[str]) -> int:
        pk = concept_pk(tenant_id, concept_id)
        keys = [ddb.key(pk, f"EX#{a}") for a in dict.fromkeys(asset_ids)]
        present = await batch_get(self._client, self._table, keys, projection="PK, SK")
        await transact_chunks(
            self._client,
            [
                {"Delete": {"TableName": self._table, "Key": ddb.key(i["PK"]["S"], i["SK"]["S"])}}
                for i in present
            ],
        )
        return len(present)

    async def list_examples(self, tenant_id: str, concept_id: str) -> list[ConceptExample]:
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :ex)",
            ExpressionAttributeValues={":pk": s(concept_pk(tenant_id, concept_id)), ":ex": s("EX#")},
        )
        return [_example(i) for i in items]

    async def add_version(self, version: ConceptVersion) -> bool:
        item = {
            **ddb.key(concept_pk(version.tenant_id, version.concept_id), _version_sk(version.number)),
            "record": s(version_json(version)),
        }
        return await self._put_if(item, "attribute_not_exists(PK)")

    async def save_version(self, version: ConceptVersion) -> None:
        item = {
            **ddb.key(concept_pk(version.tenant_id, version.concept_id), _version_sk(version.number)),
            "record": s(version_json(version)),
        }
        # gone with its concept meanwhile (a training or scoring job ending late): nothing, as SQLite's UPDATE
        await self._put_if(item, "attribute_exists(PK)")

    async def get_version(self, tenant_id: str, concept_id: str, number: int) -> ConceptVersion | None:
        item = await self._get(concept_pk(tenant_id, concept_id), _version_sk(number))
        return version_from_json(item["record"]["S"]) if item else None

    async def list_versions(self, tenant_id: str, concept_id: str) -> list[ConceptVersion]:
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :v)",
            ExpressionAttributeValues={":pk": s(concept_pk(tenant_id, concept_id)), ":v": s("V#")},
            ScanIndexForward=False,
        )
        return [version_from_json(i["record"]["S"]) for i in items]
