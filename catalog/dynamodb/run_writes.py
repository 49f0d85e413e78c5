"""Saving recognition runs in the scale-out catalog (layout: catalog.dynamodb.run_items).

A successful run replaces the current copy of its analyzer's result only if it finished later, and only
if that copy is still the run it was compared with: the run, the current copy, the asset's note, its feed
entry and its change summaries are one TransactWriteItems, retried against the newer current run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from catalog.domain.clock import utcnow
from catalog.domain.model import RecognitionResult, RunChange, RunStatus
from catalog.domain.run_diff import summarize_change
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import asset_key
from catalog.dynamodb.base import DynamoTable, exists_check
from catalog.dynamodb.batches import batch_pk
from catalog.dynamodb.requests import ATTEMPTS, ConditionFailed, backoff, batch_get, transact
from catalog.dynamodb.run_items import (
    change_item,
    feed_entry,
    model_change_pk,
    run_from_item,
    run_item,
    run_sk,
)
from catalog.dynamodb.values import s, time_text


class DynamoRunWrites(DynamoTable):
    """save_result for DynamoCatalog."""

    async def save_result(self, tenant_id: str, result: RecognitionResult) -> RunChange | None:
        """See CatalogStore.save_result. The change is computed against the current copy read just before
        the transaction, which holds only if that copy is still the same run (else read again)."""
        assert result.id, "a run is saved with its ID"
        history_only = [self._put(run_item(tenant_id, result, run_sk(result.id)))]
        if result.status != RunStatus.SUCCEEDED:
            await self._append(tenant_id, result, history_only)
            return None
        current_key = ddb.key(ddb.result_pk(tenant_id, result.asset_id), ddb.result_sk(result.analyzer))
        for attempt in range(ATTEMPTS):
            found = await batch_get(self._client, self._table, [current_key])
            previous = run_from_item(found[0]) if found else None
            if previous and (previous.finished_at or utcnow()) > (result.finished_at or utcnow()):
                await self._append(tenant_id, result, history_only)  # finished before the current run
                return None
            run = dataclasses.replace(result, change=summarize_change(previous, result))
            try:
                await transact(self._client, self._current_actions(tenant_id, run, previous))
            except ConditionFailed as exc:
                if exc.reasons[2] == "ConditionalCheckFailed":
                    raise LookupError(f"no asset {result.asset_id} in tenant {tenant_id}") from exc
                await backoff(attempt)  # another run became current meanwhile: compare with it
                continue
            return run.change
        raise RuntimeError(f"could not save run {result.id}: the current {result.analyzer} run kept changing")

    async def _append(self, tenant_id: str, run: RecognitionResult, actions: list[dict[str, Any]]) -> None:
        """Only the run item, if its asset exists."""
        exists = exists_check(self._table, asset_key(tenant_id, run.asset_id))
        try:
            await transact(self._client, [*actions, exists])
        except ConditionFailed as exc:
            raise LookupError(f"no asset {run.asset_id} in tenant {tenant_id}") from exc

    def _current_actions(
        self, tenant_id: str, r: RecognitionResult, previous: RecognitionResult | None
    ) -> list[dict[str, Any]]:
        """[run, current copy (if still `previous`), asset note (must exist), feed, change summaries]."""
        assert r.change is not None
        current = self._put(run_item(tenant_id, r, ddb.result_sk(r.analyzer)))
        if previous is None:
            current["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        elif previous.id:
            current["Put"].update(
                ConditionExpression="run_id = :prev", ExpressionAttributeValues={":prev": s(previous.id)}
            )
        else:  # a current copy written before run history: no run ID to compare
            current["Put"]["ConditionExpression"] = "attribute_not_exists(run_id)"
        now = time_text(utcnow())  # the feed is stamped with the write time: pollers never miss a change
        changed = r.change.changed
        values: dict[str, Any] = {":a": {"SS": [r.analyzer]}}
        if changed:
            values[":now"] = s(now)
        update = "ADD analyzers :a" + (" SET changed_at = :now" if changed else "")
        note = self._update(asset_key(tenant_id, r.asset_id), update, values)
        actions = [self._put(run_item(tenant_id, r, run_sk(r.id))), current, note]
        if changed:
            actions.append(self._put(feed_entry(tenant_id, r.asset_id, now)))
        if r.batch_id:
            sk = f"CHG#{r.asset_id}#{r.id}"
            actions.append(self._put(change_item(batch_pk(tenant_id, r.batch_id), sk, tenant_id, r)))
        if r.change.previous_model_version not in (None, r.model_version):
            assert r.change.previous_model_version is not None
            pk = model_change_pk(tenant_id, r.analyzer, r.change.previous_model_version, r.model_version)
            actions.append(self._put(change_item(pk, f"{r.asset_id}#{r.id}", tenant_id, r)))
        return actions
