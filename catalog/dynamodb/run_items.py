"""Run history in the scale-out catalog (DynamoDB): the layout of runs, current results, batches and the
change feed, their keys, and the item codecs (the mixins: dynamodb_run_writes, dynamodb_run_reads,
dynamodb_change_feed, dynamodb_batches).

Layout (single table, see catalog.dynamodb.catalog for why):
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

import json
import zlib
from collections.abc import Sequence
from typing import Any

from catalog.domain.clock import from_db_time, utcnow
from catalog.domain.codec import decode_findings, encode_findings
from catalog.domain.model import RecognitionResult, RunStatus
from catalog.domain.run_change_json import decode_change, encode_change
from catalog.domain.run_ports import ChangeRecord
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.batches import batch_pk
from catalog.dynamodb.values import Item, num, opt_s, s, time_text, to_float


def run_sk(run_id: str) -> str:
    return f"RUN#{run_id}"


def changes_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#CHANGES"


def tombstone_sk(asset_id: str) -> str:
    return f"TOMB#{asset_id}"


def feed_entry(tenant_id: str, asset_id: str, at: str) -> Item:
    """The change feed's entry for a change of the asset at `at` (time_text)."""
    return {**ddb.key(changes_pk(tenant_id), f"{at}#{asset_id}"), "asset_id": s(asset_id)}


def feed_tombstone(table: str, tenant_id: str, asset_id: str) -> list[dict[str, Any]]:
    """Put actions that tell the change feed an asset was deleted now (for its delete transaction)."""
    at = time_text(utcnow())
    entry = feed_entry(tenant_id, asset_id, at)
    tomb = {**ddb.key(ddb.tenant_pk(tenant_id), tombstone_sk(asset_id)), "changed_at": s(at)}
    return [{"Put": {"TableName": table, "Item": entry}}, {"Put": {"TableName": table, "Item": tomb}}]


def model_change_pk(tenant_id: str, analyzer: str, from_version: str, to_version: str) -> str:
    # Versions are provider text: JSON-quoted, so no two version pairs can make the same key.
    return f"TENANT#{tenant_id}#MODEL#{analyzer}#{json.dumps([from_version, to_version])}"


def change_keys(tenant_id: str, run_items: Sequence[Item]) -> list[Item]:
    """Keys of the change summaries these run items wrote (DynamoRunWrites._current_actions), to delete."""
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


def change_item(pk: str, sk: str, tenant_id: str, r: RecognitionResult) -> Item:
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


def change_record(item: Item) -> ChangeRecord:
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
