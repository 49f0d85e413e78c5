"""Concept versions' scores per asset in the scale-out catalog.

A score is an item in its concept's partition (PK TENANT#<tenant>#CONCEPT#<id>) whose sort key ranks it:
SK S#<version, 6 digits>#<score in millionths, 7 digits>#<asset ID>, so a version's top and the band
around its threshold are one Query each (no index). Because the score is in the key, each asset keeps a
pointer in its result partition (SK CSCORE#<concept>#<version>, naming the score item): a new score
replaces the old item, and deleting the asset deletes the score item it points to. Deleting the concept
deletes its partition, scores included. Every key starts with the tenant's."""

from __future__ import annotations

from collections.abc import Sequence

from catalog.domain.concepts.ports import SCORE_UNITS, ScoreCursor
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.requests import (
    batch_delete,
    batch_get,
    batch_put,
    query_up_to,
)
from catalog.dynamodb.values import Item, opt_s, s

POINTER_PREFIX = "CSCORE#"
_SCORE_PREFIX = "S#"
_END = "~"  # sorts after every digit, '#' and asset ID character


def concept_pk(tenant_id: str, concept_id: str) -> str:
    return f"{ddb.tenant_pk(tenant_id)}#CONCEPT#{concept_id}"


def _ranked_prefix(version: int) -> str:
    return f"{_SCORE_PREFIX}{version:06d}#"


def is_score_sk(sk: str) -> bool:
    return sk.startswith(_SCORE_PREFIX)


def _score_sk(version: int, probability: float, asset_id: str) -> str:
    return f"{_ranked_prefix(version)}{round(probability * SCORE_UNITS):07d}#{asset_id}"


def pointed_score_keys(items: Sequence[Item]) -> list[Item]:
    """Keys of the score items that these items of an asset's result partition point to (to delete)."""
    return [
        ddb.key(pk, sk)
        for i in items
        if i["SK"]["S"].startswith(POINTER_PREFIX)
        and (pk := opt_s(i, "score_pk"))
        and (sk := opt_s(i, "score_sk"))
    ]


class DynamoConceptScores(DynamoTable):
    async def save_concept_scores(
        self, tenant_id: str, concept_id: str, version: int, scores: Sequence[tuple[str, float]]
    ) -> None:
        latest = dict(scores)
        if not latest:
            return
        pk = concept_pk(tenant_id, concept_id)

        def pointer_key(asset_id: str) -> Item:
            return ddb.key(ddb.result_pk(tenant_id, asset_id), f"{POINTER_PREFIX}{concept_id}#{version:06d}")

        had = {
            i["PK"]["S"]: i["score_sk"]["S"]
            for i in await batch_get(
                self._client, self._table, [pointer_key(a) for a in latest], projection="PK, score_sk"
            )
        }
        items, pointers, stale = [], [], []
        for asset_id, probability in latest.items():
            sk = _score_sk(version, probability, asset_id)
            old = had.get(ddb.result_pk(tenant_id, asset_id))
            if old == sk:
                continue
            items.append(ddb.key(pk, sk))
            pointers.append({**pointer_key(asset_id), "score_pk": s(pk), "score_sk": s(sk)})
            if old is not None:
                stale.append(ddb.key(pk, old))
        # the new score, then the pointer to it, then the old score: an interrupted write leaves at worst
        # an extra score item, replaced by the next write (readers keep an asset's first place)
        await batch_put(self._client, self._table, items)
        await batch_put(self._client, self._table, pointers)
        await batch_delete(self._client, self._table, stale)

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
        if limit <= 0:
            return []
        prefix = _ranked_prefix(version)
        cursor = None if start is None else _score_sk(version, *start)
        low = cursor if cursor is not None and not descending else prefix
        high = cursor if cursor is not None and descending else prefix + _END
        items = await query_up_to(
            self._client,
            limit + 1,  # BETWEEN is inclusive: the cursor's own item may come first
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": s(concept_pk(tenant_id, concept_id)),
                ":lo": s(low),
                ":hi": s(high),
            },
            ProjectionExpression="SK",
            ScanIndexForward=not descending,
            Limit=limit + 1,
        )
        out = []
        for item in items:
            sk = item["SK"]["S"]
            if sk == cursor:
                continue
            units, _, asset_id = sk[len(prefix) :].partition("#")
            out.append((asset_id, int(units) / SCORE_UNITS))
        return out[:limit]
