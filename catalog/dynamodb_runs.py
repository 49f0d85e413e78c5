"""Run history in the scale-out catalog (DynamoDB): runs, current results, batches, the change feed.

Layout (single table, see catalog.dynamodb_catalog for why):
- TENANT#t#ASSET#a / RUN#<run id>        one item per run (immutable; UUIDv7 IDs sort by start time)
- TENANT#t#ASSET#a / RESULT#<analyzer>  a copy of the current run, so current reads stay one
                                        BatchGetItem per page (runs cost twice the space for that)
- TENANT#t#CHANGES / <changed_at>#<a>   the change feed; the asset item's `changed_at` says which entry
                                        is live, older entries of the asset are skipped when read
- TENANT#t / TOMB#<a>                   when a deleted asset was deleted (its feed entry is then live)
- TENANT#t / BATCH#<id>                 a batch with its done/failed counters
- TENANT#t#BATCH#<id> / ITEM#<a>        its items; CHG#<a>#<run> the change summaries of its runs
- TENANT#t#MODEL#<analyzer>#<from>#<to> / <a>#<run>   change summaries of runs that changed model version
- BATCHES#UNENQUEUED / <id>             batches whose jobs are not all enqueued yet (recovery reads it)
A run, its current copy, the asset's feed entry and its change summaries are one TransactWriteItems.
The feed and model-change partitions are one per tenant: past ~1,000 changes/s a tenant needs sharding.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalog import dynamodb_schema as ddb
from catalog.codec import decode_findings, encode_findings
from catalog.dynamodb_base import DynamoTable
from catalog.dynamodb_batches import batch_pk
from catalog.dynamodb_schema import Item, num, opt_s, s, time_text, to_float
from catalog.model import ChangedAsset, Label, RecognitionResult, RunChange, RunStatus
from catalog.run_diff import summarize_change
from catalog.run_ports import ChangeRecord
from catalog.sqlite_db import from_db_time, utcnow
from catalog.sqlite_runs import decode_change, encode_change


def run_sk(run_id: str) -> str:
    return f"RUN#{run_id}"


def changes_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#CHANGES"


def tombstone_sk(asset_id: str) -> str:
    return f"TOMB#{asset_id}"


def feed_tombstone(table: str, tenant_id: str, asset_id: str) -> list[dict[str, Any]]:
    """Put actions that tell the change feed an asset was deleted now (for its delete transaction)."""
    at = time_text(utcnow())
    entry = {**ddb.key(changes_pk(tenant_id), f"{at}#{asset_id}"), "asset_id": s(asset_id)}
    tomb = {**ddb.key(ddb.tenant_pk(tenant_id), tombstone_sk(asset_id)), "changed_at": s(at)}
    return [{"Put": {"TableName": table, "Item": entry}}, {"Put": {"TableName": table, "Item": tomb}}]


def model_change_pk(tenant_id: str, analyzer: str, from_version: str, to_version: str) -> str:
    # Versions are provider text: JSON-quoted, so no two version pairs can make the same key.
    return f"TENANT#{tenant_id}#MODEL#{analyzer}#{json.dumps([from_version, to_version])}"


def _asset_key(tenant_id: str, asset_id: str) -> Item:
    return ddb.key(ddb.tenant_pk(tenant_id), ddb.asset_sk(asset_id))


def change_keys(tenant_id: str, run_items: Sequence[Item]) -> list[Item]:
    """Keys of the change summaries these run items wrote (see _current_actions), for deleting them."""
    keys = []
    for item in run_items:
        change = decode_change(opt_s(item, "change"))
        if not item["SK"]["S"].startswith("RUN#") or change is None:
            continue
        asset_id, run_id, version = item["asset_id"]["S"], item["run_id"]["S"], item["model_version"]["S"]
        if batch_id := opt_s(item, "batch_id"):
            keys.append(ddb.key(batch_pk(tenant_id, batch_id), f"CHG#{asset_id}#{run_id}"))
        if change.previous_model_version not in (None, version):
            assert change.previous_model_version is not None
            pk = model_change_pk(tenant_id, item["analyzer"]["S"], change.previous_model_version, version)
            keys.append(ddb.key(pk, f"{asset_id}#{run_id}"))
    return keys


def run_item(tenant_id: str, r: RecognitionResult, sk: str) -> Item:
    started = r.created_at or utcnow()
    item: Item = {
        **ddb.key(ddb.result_pk(tenant_id, r.asset_id), sk),
        "run_id": s(r.id),
        "asset_id": s(r.asset_id),
        "analyzer": s(r.analyzer),
        "provider": s(r.provider),
        "model_name": s(r.model_name),
        "model_version": s(r.model_version),
        "parameters": s(json.dumps(r.parameters, sort_keys=True)),
        "findings": {"B": zlib.compress(json.dumps(encode_findings(r.findings)).encode(), 6)},
        "duration_ms": num(r.duration_ms),
        "created_at": s(time_text(started)),
        "finished_at": s(time_text(r.finished_at or started)),
        "status": s(r.status.value),
        "error": s(r.error),
    }
    if r.batch_id:
        item["batch_id"] = s(r.batch_id)
    if (change := encode_change(r.change)) is not None:
        item["change"] = s(change)
    return item


def run_from_item(item: Item) -> RecognitionResult:
    return RecognitionResult(
        id=opt_s(item, "run_id") or "",  # current copies written before run history have none
        asset_id=item["asset_id"]["S"],
        analyzer=item["analyzer"]["S"],
        provider=item["provider"]["S"],
        model_name=item["model_name"]["S"],
        model_version=item["model_version"]["S"],
        parameters=json.loads(item["parameters"]["S"]),
        duration_ms=to_float(item["duration_ms"]),
        created_at=from_db_time(opt_s(item, "created_at")),
        finished_at=from_db_time(opt_s(item, "finished_at") or opt_s(item, "created_at")),
        status=RunStatus(opt_s(item, "status") or RunStatus.SUCCEEDED.value),
        error=opt_s(item, "error") or "",
        batch_id=opt_s(item, "batch_id"),
        change=decode_change(opt_s(item, "change")),
        findings=decode_findings(json.loads(zlib.decompress(item["findings"]["B"]))),
    )


def _change_item(pk: str, sk: str, tenant_id: str, r: RecognitionResult) -> Item:
    return {
        **ddb.key(pk, sk),
        "tenant_id": s(tenant_id),
        "asset_id": s(r.asset_id),
        "analyzer": s(r.analyzer),
        "run_id": s(r.id),
        "model_version": s(r.model_version),
        "finished_at": s(time_text(r.finished_at or utcnow())),
        "change": s(encode_change(r.change) or "{}"),
    }


def _change_record(item: Item) -> ChangeRecord:
    change, finished = decode_change(item["change"]["S"]), from_db_time(item["finished_at"]["S"])
    assert change is not None and finished is not None
    return ChangeRecord(
        item["asset_id"]["S"],
        item["analyzer"]["S"],
        item["run_id"]["S"],
        item["model_version"]["S"],
        finished,
        change,
    )


class DynamoRunHistory(DynamoTable):
    """RunHistory and the result methods of DynamoCatalog."""

    async def save_result(self, tenant_id: str, result: RecognitionResult) -> RunChange | None:
        """See CatalogStore.save_result. The change is computed against the current copy read just before
        the transaction, which holds only if that copy is still the same run (else read again)."""
        assert result.id, "a run is saved with its ID"
        history_only = [self._put(run_item(tenant_id, result, run_sk(result.id)))]
        if result.status != RunStatus.SUCCEEDED:
            await self._append(tenant_id, result, history_only)
            return None
        current_key = ddb.key(ddb.result_pk(tenant_id, result.asset_id), ddb.result_sk(result.analyzer))
        for attempt in range(ddb.ATTEMPTS):
            found = await ddb.batch_get(self._client, self._table, [current_key])
            previous = run_from_item(found[0]) if found else None
            if previous and (previous.finished_at or utcnow()) > (result.finished_at or utcnow()):
                await self._append(tenant_id, result, history_only)  # finished before the current run
                return None
            run = dataclasses.replace(result, change=summarize_change(previous, result))
            try:
                await ddb.transact(self._client, self._current_actions(tenant_id, run, previous))
            except ddb.ConditionFailed as exc:
                if exc.reasons[2] == "ConditionalCheckFailed":
                    raise LookupError(f"no asset {result.asset_id} in tenant {tenant_id}") from exc
                await ddb.backoff(attempt)  # another run became current meanwhile: compare with it
                continue
            return run.change
        raise RuntimeError(f"could not save run {result.id}: the current {result.analyzer} run kept changing")

    async def _append(self, tenant_id: str, run: RecognitionResult, actions: list[dict[str, Any]]) -> None:
        """Only the run item, if its asset exists."""
        exists = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": _asset_key(tenant_id, run.asset_id),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
        try:
            await ddb.transact(self._client, [*actions, exists])
        except ddb.ConditionFailed as exc:
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
        note = {
            "Update": {
                "TableName": self._table,
                "Key": _asset_key(tenant_id, r.asset_id),
                "UpdateExpression": "ADD analyzers :a" + (" SET changed_at = :now" if changed else ""),
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": values,
            }
        }
        actions = [self._put(run_item(tenant_id, r, run_sk(r.id))), current, note]
        if changed:
            actions.append(self._feed_put(tenant_id, r.asset_id, now))
        if r.batch_id:
            sk = f"CHG#{r.asset_id}#{r.id}"
            actions.append(self._put(_change_item(batch_pk(tenant_id, r.batch_id), sk, tenant_id, r)))
        if r.change.previous_model_version not in (None, r.model_version):
            assert r.change.previous_model_version is not None
            pk = model_change_pk(tenant_id, r.analyzer, r.change.previous_model_version, r.model_version)
            actions.append(self._put(_change_item(pk, f"{r.asset_id}#{r.id}", tenant_id, r)))
        return actions

    def _feed_put(self, tenant_id: str, asset_id: str, at: str) -> dict[str, Any]:
        return self._put({**ddb.key(changes_pk(tenant_id), f"{at}#{asset_id}"), "asset_id": s(asset_id)})

    async def get_results(
        self, tenant_id: str, asset_ids: Sequence[str], *, as_of: datetime | None = None
    ) -> dict[str, dict[str, RecognitionResult]]:
        if as_of is not None:
            return await self._results_as_of(tenant_id, asset_ids, as_of)
        assets = await ddb.batch_get(
            self._client,
            self._table,
            [_asset_key(tenant_id, a) for a in asset_ids],
            projection="#id, analyzers",
            names={"#id": "id"},
        )
        keys = [
            ddb.key(ddb.result_pk(tenant_id, item["id"]["S"]), ddb.result_sk(analyzer))
            for item in assets
            for analyzer in item.get("analyzers", {}).get("SS", [])
        ]
        out: dict[str, dict[str, RecognitionResult]] = {}
        for item in await ddb.batch_get(self._client, self._table, keys):
            result = run_from_item(item)
            out.setdefault(result.asset_id, {})[result.analyzer] = result
        return out

    async def _asset_runs(self, tenant_id: str, asset_id: str) -> list[RecognitionResult]:
        items = await ddb.query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :run)",
            ExpressionAttributeValues={":pk": s(ddb.result_pk(tenant_id, asset_id)), ":run": s("RUN#")},
        )
        return sorted(map(run_from_item, items), key=lambda r: (r.finished_at or utcnow(), r.id))

    async def _results_as_of(
        self, tenant_id: str, asset_ids: Sequence[str], as_of: datetime
    ) -> dict[str, dict[str, RecognitionResult]]:
        ids = list(dict.fromkeys(asset_ids))
        histories = await ddb.bounded([self._asset_runs(tenant_id, a) for a in ids])
        out: dict[str, dict[str, RecognitionResult]] = {}
        for asset_id, runs in zip(ids, histories, strict=True):
            for run in runs:  # oldest first: the last success by then wins
                if run.status == RunStatus.SUCCEEDED and run.finished_at and run.finished_at <= as_of:
                    out.setdefault(asset_id, {})[run.analyzer] = run
        return out

    async def get_labels(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, tuple[Label, ...]]:
        keys = [ddb.key(ddb.result_pk(tenant_id, a), ddb.result_sk("labels")) for a in asset_ids]
        results = map(run_from_item, await ddb.batch_get(self._client, self._table, keys))
        return {r.asset_id: r.findings.labels for r in results}

    async def get_result(self, tenant_id: str, asset_id: str, analyzer: str) -> RecognitionResult | None:
        found = await ddb.batch_get(
            self._client, self._table, [ddb.key(ddb.result_pk(tenant_id, asset_id), ddb.result_sk(analyzer))]
        )
        return run_from_item(found[0]) if found else None

    async def runs_of(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        analyzer: str | None = None,
        *,
        limit: int = 100,
        finished_by: datetime | None = None,
    ) -> dict[str, list[RecognitionResult]]:
        ids = list(dict.fromkeys(asset_ids))
        histories = await ddb.bounded([self._asset_runs(tenant_id, a) for a in ids])
        out: dict[str, list[RecognitionResult]] = {}
        for asset_id, runs in zip(ids, histories, strict=True):
            wanted = [
                r
                for r in reversed(runs)
                if analyzer in (None, r.analyzer)
                and (finished_by is None or (r.finished_at and r.finished_at <= finished_by))
            ]
            if wanted:
                out[asset_id] = wanted[:limit]
        return out

    async def get_runs(
        self, tenant_id: str, asset_id: str, run_ids: Sequence[str]
    ) -> dict[str, RecognitionResult]:
        keys = [ddb.key(ddb.result_pk(tenant_id, asset_id), run_sk(r)) for r in run_ids]
        return {r.id: r for r in map(run_from_item, await ddb.batch_get(self._client, self._table, keys))}

    async def change_records(
        self,
        tenant_id: str,
        *,
        batch_id: str | None = None,
        analyzer: str | None = None,
        from_version: str | None = None,
        to_version: str | None = None,
    ) -> list[ChangeRecord]:
        if batch_id is not None:  # the batch's partition also holds its items: only the CHG# range
            condition, values = "PK = :pk AND begins_with(SK, :p)", {":p": s("CHG#")}
            pk = batch_pk(tenant_id, batch_id)
        else:
            assert analyzer is not None and from_version is not None and to_version is not None
            condition, values = "PK = :pk", {}
            pk = model_change_pk(tenant_id, analyzer, from_version, to_version)
        items = await ddb.query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues={":pk": s(pk), **values},
        )
        return sorted(map(_change_record, items), key=lambda c: (c.asset_id, c.finished_at))

    async def mark_changed(self, tenant_id: str, asset_ids: Sequence[str]) -> None:
        at = time_text(utcnow())
        for asset_id in dict.fromkeys(asset_ids):
            note = {
                "Update": {
                    "TableName": self._table,
                    "Key": _asset_key(tenant_id, asset_id),
                    "UpdateExpression": "SET changed_at = :f",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": {":f": s(at)},
                }
            }
            try:
                await ddb.transact(self._client, [note, self._feed_put(tenant_id, asset_id, at)])
            except ddb.ConditionFailed:
                continue  # deleted meanwhile: nothing to feed

    async def changed_assets(
        self, tenant_id: str, since: datetime, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[ChangedAsset]:
        start = f"{time_text(after[0])}#{after[1]}" if after else time_text(since)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK > :start",
            "ExpressionAttributeValues": {":pk": s(changes_pk(tenant_id)), ":start": s(start)},
            "Limit": max(limit, 25),
        }
        out: list[ChangedAsset] = []
        async for page in ddb.query_pages(self._client, **request):
            entries = [(item["SK"]["S"].rsplit("#", 1)[0], item["asset_id"]["S"]) for item in page]
            assets = await ddb.batch_get(
                self._client,
                self._table,
                [_asset_key(tenant_id, a) for _, a in entries],
                projection="#id, changed_at",
                names={"#id": "id"},
            )
            live = {a["id"]["S"]: opt_s(a, "changed_at") for a in assets}
            gone = [a for _, a in entries if a not in live]
            tombs = await ddb.batch_get(
                self._client, self._table, [ddb.key(ddb.tenant_pk(tenant_id), tombstone_sk(a)) for a in gone]
            )
            deleted = {t["SK"]["S"].removeprefix("TOMB#"): t["changed_at"]["S"] for t in tombs}
            for at, asset_id in entries:
                if (
                    live.get(asset_id) == at or deleted.get(asset_id) == at
                ):  # else superseded by a later entry
                    when = from_db_time(at)
                    assert when is not None
                    out.append(ChangedAsset(asset_id, when, deleted=asset_id in deleted))
                    if len(out) == limit:
                        return out
        return out
