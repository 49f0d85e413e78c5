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
from contextlib import aclosing
from datetime import datetime
from typing import Any

from catalog import dynamodb_schema as ddb
from catalog.codec import decode_findings, encode_findings
from catalog.dynamodb_schema import Item, num, opt_s, s, to_float, to_int
from catalog.model import ChangedAsset, Label, RecognitionResult, ReprocessBatch, RunChange, RunStatus
from catalog.run_diff import summarize_change
from catalog.run_ports import BatchItemState, ChangeRecord
from catalog.sqlite_db import from_db_time, to_db_time, utcnow
from catalog.sqlite_runs import decode_change, encode_change

UNENQUEUED_PK = "BATCHES#UNENQUEUED"


def _t(value: datetime) -> str:
    text = to_db_time(value)
    assert text is not None
    return text


def run_sk(run_id: str) -> str:
    return f"RUN#{run_id}"


def changes_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#CHANGES"


def tombstone_sk(asset_id: str) -> str:
    return f"TOMB#{asset_id}"


def feed_tombstone(table: str, tenant_id: str, asset_id: str) -> list[dict[str, Any]]:
    """Put actions that tell the change feed an asset was deleted now (for its delete transaction)."""
    at = _t(utcnow())
    entry = {**ddb.key(changes_pk(tenant_id), f"{at}#{asset_id}"), "asset_id": s(asset_id)}
    tomb = {**ddb.key(ddb.tenant_pk(tenant_id), tombstone_sk(asset_id)), "changed_at": s(at)}
    return [{"Put": {"TableName": table, "Item": entry}}, {"Put": {"TableName": table, "Item": tomb}}]


def batch_sk(batch_id: str) -> str:
    return f"BATCH#{batch_id}"


def batch_pk(tenant_id: str, batch_id: str) -> str:
    return f"TENANT#{tenant_id}#BATCH#{batch_id}"


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
        "created_at": s(_t(started)),
        "finished_at": s(_t(r.finished_at or started)),
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
        "finished_at": s(_t(r.finished_at or utcnow())),
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


def _batch(item: Item) -> ReprocessBatch:
    created = from_db_time(item["created_at"]["S"])
    assert created is not None
    return ReprocessBatch(
        id=item["batch_id"]["S"],
        tenant_id=item["tenant_id"]["S"],
        analyzers=tuple(json.loads(item["analyzers"]["S"])),
        provider=opt_s(item, "provider"),
        parameters=json.loads(item["parameters"]["S"]),
        total=to_int(item["total"]),
        done=to_int(item["done"]),
        failed=to_int(item["failed"]),
        created_at=created,
        enqueued="enqueued" in item,
    )


class DynamoRunHistory:
    """RunHistory and the result methods of DynamoCatalog."""

    _client: Any
    _table: str

    def _put(self, item: Item) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": item}}

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
        now = _t(utcnow())  # the feed is stamped with the write time: pollers never miss a change
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
        at = _t(utcnow())
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
        start = f"{_t(after[0])}#{after[1]}" if after else _t(since)
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

    async def create_batch(self, batch: ReprocessBatch, asset_ids: Sequence[str]) -> None:
        pk = batch_pk(batch.tenant_id, batch.id)
        items = [{**ddb.key(pk, f"ITEM#{a}"), "state": s(BatchItemState.PENDING)} for a in asset_ids]
        await ddb.batch_put(self._client, self._table, items)
        meta: Item = {
            **ddb.key(ddb.tenant_pk(batch.tenant_id), batch_sk(batch.id)),
            "batch_id": s(batch.id),
            "tenant_id": s(batch.tenant_id),
            "analyzers": s(json.dumps(list(batch.analyzers))),
            "parameters": s(json.dumps(batch.parameters, sort_keys=True)),
            "total": num(len(asset_ids)),
            "done": num(0),
            "failed": num(0),
            "created_at": s(_t(batch.created_at)),
        }
        if batch.provider:
            meta["provider"] = s(batch.provider)
        marker = {**ddb.key(UNENQUEUED_PK, batch.id), "tenant_id": s(batch.tenant_id)}
        await ddb.transact(self._client, [self._put(meta), self._put(marker)])  # items first: no short batch

    async def get_batch(self, tenant_id: str, batch_id: str) -> ReprocessBatch | None:
        found = await ddb.batch_get(
            self._client, self._table, [ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id))]
        )
        return _batch(found[0]) if found else None

    async def list_batches(self, tenant_id: str, *, limit: int) -> list[ReprocessBatch]:
        items: list[Item] = []
        pages = ddb.query_pages(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :b)",
            ExpressionAttributeValues={":pk": s(ddb.tenant_pk(tenant_id)), ":b": s("BATCH#")},
            ScanIndexForward=False,  # UUIDv7 batch IDs: key order is creation order
            Limit=limit,
        )
        async with aclosing(pages):
            async for page in pages:
                items += page
                if len(items) >= limit:
                    break
        return [_batch(i) for i in items[:limit]]

    async def batch_failures(self, tenant_id: str, batch_id: str, *, limit: int) -> list[tuple[str, str]]:
        failed = await self.batch_items(tenant_id, batch_id, BatchItemState.FAILED, after=None, limit=limit)
        keys = [ddb.key(batch_pk(tenant_id, batch_id), f"ITEM#{a}") for a in failed]
        errors = {
            i["SK"]["S"].removeprefix("ITEM#"): opt_s(i, "error") or ""
            for i in await ddb.batch_get(self._client, self._table, keys)
        }
        return [(a, errors.get(a, "")) for a in failed]

    async def batch_items(
        self, tenant_id: str, batch_id: str, state: str, *, after: str | None, limit: int
    ) -> list[str]:
        if await self.get_batch(tenant_id, batch_id) is None:
            return []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :start AND :end",
            "FilterExpression": "#state = :state",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {
                ":pk": s(batch_pk(tenant_id, batch_id)),
                ":start": s(f"ITEM#{after or ''}\x00" if after else "ITEM#"),
                ":end": s("ITEM$"),
                ":state": s(state),
            },
        }
        out: list[str] = []
        async for page in ddb.query_pages(self._client, **request):
            out += [item["SK"]["S"].removeprefix("ITEM#") for item in page]
            if len(out) >= limit:
                break
        return out[:limit]

    async def batch_item_state(self, tenant_id: str, batch_id: str, asset_id: str) -> str | None:
        found = await ddb.batch_get(
            self._client, self._table, [ddb.key(batch_pk(tenant_id, batch_id), f"ITEM#{asset_id}")]
        )
        return found[0]["state"]["S"] if found else None

    async def finish_batch_item(
        self, tenant_id: str, batch_id: str, asset_id: str, *, failed: bool, error: str = ""
    ) -> bool:
        state = BatchItemState.FAILED if failed else BatchItemState.DONE
        item = {
            "Update": {
                "TableName": self._table,
                "Key": ddb.key(batch_pk(tenant_id, batch_id), f"ITEM#{asset_id}"),
                "UpdateExpression": "SET #state = :state, #error = :error",
                "ConditionExpression": "#state = :pending",
                "ExpressionAttributeNames": {"#state": "state", "#error": "error"},
                "ExpressionAttributeValues": {
                    ":state": s(state),
                    ":error": s(error),
                    ":pending": s(BatchItemState.PENDING),
                },
            }
        }
        column = "failed" if failed else "done"
        counter = {
            "Update": {
                "TableName": self._table,
                "Key": ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id)),
                "UpdateExpression": f"ADD {column} :one",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":one": num(1)},
            }
        }
        try:
            await ddb.transact(self._client, [item, counter])
        except ddb.ConditionFailed:
            return False
        return True

    async def set_batch_enqueued(self, tenant_id: str, batch_id: str) -> None:
        note = {
            "Update": {
                "TableName": self._table,
                "Key": ddb.key(ddb.tenant_pk(tenant_id), batch_sk(batch_id)),
                "UpdateExpression": "SET enqueued = :yes",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
            }
        }
        drop = {"Delete": {"TableName": self._table, "Key": ddb.key(UNENQUEUED_PK, batch_id)}}
        await ddb.transact(self._client, [note, drop])

    async def unenqueued_batches(self) -> list[ReprocessBatch]:
        markers = await ddb.query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": s(UNENQUEUED_PK)},
        )
        keys = [ddb.key(ddb.tenant_pk(m["tenant_id"]["S"]), batch_sk(m["SK"]["S"])) for m in markers]
        return sorted(map(_batch, await ddb.batch_get(self._client, self._table, keys)), key=lambda b: b.id)
