"""ReviewStore on the shared DynamoDB table, in one partition per tenant: TENANT#<id>#REVIEW.

Items (sort keys): RULES; TASK#<id> (status, version, dedupe, JSON body with its answers); a status
entry STATUS#<status>#<id> per task, moved in the same transaction as a status change (listing a
status is one key-range Query); DEDUPE#<key> guards one task per (asset, question); REVIEWER#<id>,
guarded by REVIEWERNAME#<name>. Tenant scoping is structural: the partition key holds the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from catalog.domain.review.codec import (
    reviewer_from_row,
    reviewer_stats_json,
    rules_from_json,
    rules_json,
    task_from_json,
    task_json,
)
from catalog.domain.review.tasks import Reviewer, ReviewInputError, ReviewRules, ReviewTask, TaskStatus
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.base import DynamoTable, put_new, time_s
from catalog.dynamodb.requests import ConditionFailed, batch_get, bounded, query_count, query_up_to, transact
from catalog.dynamodb.values import Item, num, s, to_int


def review_pk(tenant_id: str) -> str:
    return f"{ddb.tenant_pk(tenant_id)}#REVIEW"


def _status_sk(status: str, task_id: str) -> str:
    return f"STATUS#{status}#{task_id}"


def _task(tenant_id: str, item: Item) -> ReviewTask:
    return task_from_json(
        item["id"]["S"], tenant_id, item["status"]["S"], to_int(item["version"]), item["body"]["S"]
    )


def _reviewer(tenant_id: str, item: Item) -> Reviewer:
    return reviewer_from_row(
        item["id"]["S"],
        tenant_id,
        item["name"]["S"],
        item["key_id"]["S"],
        item["created_at"]["S"],
        item["stats"]["S"],
    )


class DynamoReviewStore(DynamoTable):
    async def get_review_rules(self, tenant_id: str) -> ReviewRules:
        item = await self._get(review_pk(tenant_id), "RULES")
        return rules_from_json(item["rules"]["S"] if item else None)

    async def set_review_rules(self, tenant_id: str, rules: ReviewRules) -> None:
        await self._client.put_item(
            TableName=self._table,
            Item={**ddb.key(review_pk(tenant_id), "RULES"), "rules": s(rules_json(rules))},
        )

    async def add_tasks(self, tenant_id: str, tasks: Sequence[ReviewTask]) -> list[ReviewTask]:
        pk = review_pk(tenant_id)

        async def add(task: ReviewTask) -> ReviewTask | None:
            item = {
                **ddb.key(pk, f"TASK#{task.id}"),
                "id": s(task.id),
                "status": s(task.status),
                "version": num(0),
                "dedupe": s(task.dedupe),
                "body": s(task_json(task)),
            }
            actions = [
                put_new(self._table, item),
                self._put({**ddb.key(pk, _status_sk(task.status, task.id)), "id": s(task.id)}),
            ]
            if task.dedupe:
                guard = {**ddb.key(pk, f"DEDUPE#{task.dedupe}"), "task_id": s(task.id)}
                actions.append(put_new(self._table, guard))
            try:
                await transact(self._client, actions)
            except ConditionFailed:
                return None
            return replace(task, tenant_id=tenant_id, version=0)

        return [t for t in await bounded([add(t) for t in tasks]) if t is not None]

    async def get_tasks(self, tenant_id: str, task_ids: Sequence[str]) -> dict[str, ReviewTask]:
        pk = review_pk(tenant_id)
        keys = [ddb.key(pk, f"TASK#{i}") for i in dict.fromkeys(task_ids)]
        items = await batch_get(self._client, self._table, keys[:1000]) if keys else []
        return {i["id"]["S"]: _task(tenant_id, i) for i in items}

    async def list_tasks(
        self, tenant_id: str, status: TaskStatus | None, *, after: str | None, limit: int
    ) -> list[ReviewTask]:
        pk = review_pk(tenant_id)
        prefix = f"STATUS#{status}#" if status is not None else "TASK#"
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": s(pk),
                ":lo": s(prefix + (after + "\0" if after else "")),
                ":hi": s(prefix + "\uffff"),
            },
            "ProjectionExpression": "id",
        }
        ids = [i["id"]["S"] for i in await query_up_to(self._client, limit, **request)]
        found = await self.get_tasks(tenant_id, ids)
        return [found[i] for i in ids if i in found]

    async def save_task(self, tenant_id: str, task: ReviewTask) -> ReviewTask | None:
        pk = review_pk(tenant_id)
        current = await self._get(pk, f"TASK#{task.id}")
        if current is None or to_int(current["version"]) != task.version:
            return None
        update = self._update(
            ddb.key(pk, f"TASK#{task.id}"),
            "SET #st = :st, version = :next, body = :body",
            {
                ":st": s(task.status),
                ":next": num(task.version + 1),
                ":body": s(task_json(task)),
                ":v": num(task.version),
            },
            condition="version = :v",
            names={"#st": "status"},
        )
        actions = [update]
        old_status = current["status"]["S"]
        if old_status != task.status:
            actions.append(
                {"Delete": {"TableName": self._table, "Key": ddb.key(pk, _status_sk(old_status, task.id))}}
            )
            actions.append(self._put({**ddb.key(pk, _status_sk(task.status, task.id)), "id": s(task.id)}))
        try:
            await transact(self._client, actions)
        except ConditionFailed:
            return None
        return replace(task, version=task.version + 1)

    async def count_tasks(self, tenant_id: str) -> dict[TaskStatus, int]:
        async def count(status: TaskStatus) -> int:
            return await query_count(
                self._client,
                TableName=self._table,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                ExpressionAttributeValues={":pk": s(review_pk(tenant_id)), ":p": s(f"STATUS#{status}#")},
            )

        return dict(zip(TaskStatus, await bounded([count(st) for st in TaskStatus]), strict=True))

    async def add_reviewer(self, reviewer: Reviewer) -> Reviewer:
        pk = review_pk(reviewer.tenant_id)
        item = {
            **ddb.key(pk, f"REVIEWER#{reviewer.id}"),
            "id": s(reviewer.id),
            "name": s(reviewer.name),
            "key_id": s(reviewer.key_id),
            "created_at": time_s(reviewer.created_at),
            "stats": s(reviewer_stats_json(reviewer)),
        }
        guard = {**ddb.key(pk, f"REVIEWERNAME#{reviewer.name.lower()}"), "id": s(reviewer.id)}
        try:
            await transact(self._client, [put_new(self._table, item), put_new(self._table, guard)])
        except ConditionFailed as exc:
            raise ReviewInputError("NAME_TAKEN", f"the tenant has a reviewer {reviewer.name!r}") from exc
        return reviewer

    async def list_reviewers(self, tenant_id: str) -> list[Reviewer]:
        items = await query_up_to(
            self._client,
            10_000,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
            ExpressionAttributeValues={":pk": s(review_pk(tenant_id)), ":p": s("REVIEWER#")},
        )
        return sorted((_reviewer(tenant_id, i) for i in items), key=lambda r: r.name)

    async def get_reviewer(self, tenant_id: str, reviewer_id: str) -> Reviewer | None:
        item = await self._get(review_pk(tenant_id), f"REVIEWER#{reviewer_id}")
        return _reviewer(tenant_id, item) if item else None

    async def reviewer_by_key(self, tenant_id: str, key_id: str) -> Reviewer | None:
        return next((r for r in await self.list_reviewers(tenant_id) if r.key_id == key_id), None)

    async def save_reviewer(self, reviewer: Reviewer) -> None:
        await self._client.update_item(
            TableName=self._table,
            Key=ddb.key(review_pk(reviewer.tenant_id), f"REVIEWER#{reviewer.id}"),
            UpdateExpression="SET stats = :st",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":st": s(reviewer_stats_json(reviewer))},
        )
