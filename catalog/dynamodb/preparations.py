"""How a reprocessing batch is prepared, in the scale-out catalog (layout: see catalog.dynamodb.run_items).

The batch's meta item carries its preparation: `selection` (the filter, until resolved), `counting` (while
the items of a closed selection are counted), `error` (FAILED), `enqueued_through` (the queueing checkpoint),
`heartbeat_at`, and the claim of the run preparing it: `claim_owner` and `claim_until`
(catalog.domain.run_ports.Claim). Each write that a claim guards is conditional on it, so a check of the
claim and the write cannot be separated.

Every finishing item also writes the meta item (its counter), in a transaction: a plain update that meets
one fails with TransactionConflictException, and botocore does not retry here (bootstrap turns its retries
off), so these updates retry conflicts themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from catalog.domain.clock import utcnow
from catalog.domain.run_ports import BatchItemState, Claim
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.requests import (
    ATTEMPTS,
    TRANSACT_MAX,
    ConditionFailed,
    backoff,
    error_code,
    query_count,
    transact,
)
from catalog.dynamodb.values import Item, num, s, time_text, to_int

UNENQUEUED_PK = "BATCHES#UNENQUEUED"
_RETRIED = {"TransactionConflictException", "ThrottlingException", "ProvisionedThroughputExceededException"}
_HOLDS = "claim_owner = :owner AND claim_until > :now"
_UNRESOLVED = "attribute_exists(selection) AND attribute_not_exists(#error)"
_ERROR = {"#error": "error"}


def batch_pk(tenant_id: str, batch_id: str) -> str:
    return f"TENANT#{tenant_id}#BATCH#{batch_id}"


def batch_sk(batch_id: str) -> str:
    return f"BATCH#{batch_id}"


def batch_item(pk: str, asset_id: str) -> Item:
    return {**ddb.key(pk, f"ITEM#{asset_id}"), "state": s(BatchItemState.PENDING)}


def _meta(tenant_id: str, batch_id: str) -> Item:
    return ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id))


def _guard(condition: str, claim: Claim | None) -> tuple[str, Item]:
    """The condition, and that the claim (if given) holds now; the values that the claim's part uses."""
    if claim is None:
        return condition, {}
    now = utcnow()
    values = {":owner": s(claim.owner), ":now": s(time_text(now))}
    return f"{condition} AND {_HOLDS}", values


def _renewal(claim: Claim) -> Item:
    return {":until": s(time_text(utcnow() + claim.lease))}


class DynamoPreparations(DynamoTable):
    """The preparation half of the batch methods of RunHistory for DynamoCatalog."""

    async def _update_item(
        self, key: Item, expression: str, condition: str, values: Item, names: dict[str, str] | None = None
    ) -> bool:
        """A conditional UpdateItem, retried on conflicts and throttling; False if the condition fails."""
        request = self._update(key, expression, values, condition=condition, names=names)["Update"]
        for attempt in range(ATTEMPTS):
            try:
                await self._client.update_item(**request)
                return True
            except ClientError as exc:
                code = error_code(exc)
                if code == "ConditionalCheckFailedException":
                    return False
                if code not in _RETRIED or attempt == ATTEMPTS - 1:
                    raise
            await backoff(attempt)
        raise AssertionError("unreachable")

    async def claim_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> bool:
        now = utcnow()
        return await self._update_item(
            _meta(tenant_id, batch_id),
            "SET claim_owner = :owner, claim_until = :until, heartbeat_at = :now",
            "attribute_exists(PK) AND attribute_not_exists(enqueued) AND attribute_not_exists(#error) AND "
            "(attribute_not_exists(claim_owner) OR claim_owner = :owner OR claim_until <= :now)",
            {":owner": s(claim.owner), ":now": s(time_text(now)), ":until": s(time_text(now + claim.lease))},
            _ERROR,
        )

    async def release_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> None:
        await self._update_item(
            _meta(tenant_id, batch_id),
            "REMOVE claim_owner, claim_until",
            "claim_owner = :owner",
            {":owner": s(claim.owner)},
        )

    async def add_batch_items(
        self, tenant_id: str, batch_id: str, asset_ids: Sequence[str], claim: Claim
    ) -> bool:
        pk = batch_pk(tenant_id, batch_id)
        puts = [self._put(batch_item(pk, a)) for a in dict.fromkeys(asset_ids)]
        step = TRANSACT_MAX - 1
        # One chunk after the other: each checks the meta item, and transactions on one item at once conflict.
        for start in range(0, len(puts), step):
            condition, values = _guard(_UNRESOLVED, claim)
            check = {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": _meta(tenant_id, batch_id),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": _ERROR,
                    "ExpressionAttributeValues": values,
                }
            }
            try:
                await transact(self._client, [check, *puts[start : start + step]])
            except ConditionFailed:
                return False
        return True

    async def resolve_batch(self, tenant_id: str, batch_id: str, claim: Claim) -> int | None:
        item = await self._get(ddb.tenant_pk(tenant_id), batch_sk(batch_id))
        if item is None:
            return None
        key = _meta(tenant_id, batch_id)
        if "selection" in item:  # close it first: an add that comes later fails its condition
            condition, values = _guard(_UNRESOLVED, claim)
            closed = await self._update_item(
                key,
                "SET counting = :yes REMOVE selection",
                condition,
                {":yes": {"BOOL": True}, **values},
                _ERROR,
            )
            if not closed:
                return None
        elif "counting" not in item:
            return to_int(item["total"])  # resolved before
        total = await self._count_items(batch_pk(tenant_id, batch_id))
        condition, values = _guard("attribute_exists(counting)", claim)
        counted = await self._update_item(
            key,
            "SET #total = :total, heartbeat_at = :now, claim_until = :until REMOVE counting",
            condition,
            {":total": num(total), **values, **_renewal(claim)},
            {"#total": "total"},
        )
        return total if counted else None

    async def _count_items(self, pk: str) -> int:
        return await query_count(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :start AND :end",
            ExpressionAttributeValues={":pk": s(pk), ":start": s("ITEM#"), ":end": s("ITEM$")},
        )

    async def fail_batch(self, tenant_id: str, batch_id: str, error: str, claim: Claim) -> bool:
        condition, values = _guard(_UNRESOLVED, claim)
        return await self._close(
            tenant_id,
            batch_id,
            "SET enqueued = :yes, #error = :error",
            condition,
            {":error": s(error), **values},
        )

    async def set_batch_enqueued(self, tenant_id: str, batch_id: str, claim: Claim | None = None) -> bool:
        condition, values = _guard("attribute_exists(PK)", claim)
        return await self._close(tenant_id, batch_id, "SET enqueued = :yes", condition, values)

    async def _close(
        self, tenant_id: str, batch_id: str, expression: str, condition: str, values: Item
    ) -> bool:
        """Update the batch and drop its unenqueued marker, together, if the condition holds."""
        names = _ERROR if "#error" in expression + condition else None
        meta = _meta(tenant_id, batch_id)
        note = self._update(
            meta, expression, {":yes": {"BOOL": True}, **values}, condition=condition, names=names
        )
        drop = {"Delete": {"TableName": self._table, "Key": ddb.key(UNENQUEUED_PK, batch_id)}}
        try:
            await transact(self._client, [note, drop])
        except ConditionFailed:
            return False
        return True

    async def checkpoint_batch(
        self, tenant_id: str, batch_id: str, enqueued_through: str | None, claim: Claim | None = None
    ) -> bool:
        condition, values = _guard("attribute_exists(PK)", claim)
        sets = ["heartbeat_at = :beat"]
        values[":beat"] = s(time_text(utcnow()))
        if enqueued_through is not None:
            sets.append("enqueued_through = :through")
            values[":through"] = s(enqueued_through)
        if claim is not None:
            sets.append("claim_until = :until")
            values.update(_renewal(claim))
        return await self._update_item(
            _meta(tenant_id, batch_id), f"SET {', '.join(sets)}", condition, values
        )
