"""Reading recognition runs in the scale-out catalog (layout: catalog.dynamodb.run_items): the current
results (one BatchGetItem of the current copies the asset item lists), the results as of a time, and run
history (each asset's RUN# range)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from catalog.domain.clock import utcnow
from catalog.domain.model import Label, RecognitionResult, RunStatus
from catalog.domain.model_census import ModelRef, shot_models
from catalog.domain.video.findings import VIDEO
from catalog.dynamodb import keys as ddb
from catalog.dynamodb.asset_items import asset_key
from catalog.dynamodb.base import DynamoTable
from catalog.dynamodb.requests import batch_get, bounded, query_all
from catalog.dynamodb.run_items import run_from_item, run_sk
from catalog.dynamodb.values import s


class DynamoRunReads(DynamoTable):
    """The result and run history reads of CatalogStore and RunHistory for DynamoCatalog."""

    async def get_results(
        self, tenant_id: str, asset_ids: Sequence[str], *, as_of: datetime | None = None
    ) -> dict[str, dict[str, RecognitionResult]]:
        if as_of is not None:
            return await self._results_as_of(tenant_id, asset_ids, as_of)
        assets = await batch_get(
            self._client,
            self._table,
            [asset_key(tenant_id, a) for a in asset_ids],
            projection="#id, analyzers",
            names={"#id": "id"},
        )
        keys = [
            ddb.key(ddb.result_pk(tenant_id, item["id"]["S"]), ddb.result_sk(analyzer))
            for item in assets
            for analyzer in item.get("analyzers", {}).get("SS", [])
        ]
        out: dict[str, dict[str, RecognitionResult]] = {}
        for item in await batch_get(self._client, self._table, keys):
            result = run_from_item(item)
            out.setdefault(result.asset_id, {})[result.analyzer] = result
        return out

    async def _histories(
        self, tenant_id: str, asset_ids: Sequence[str]
    ) -> dict[str, list[RecognitionResult]]:
        """Every run of each asset, oldest first (one Query per asset, CONCURRENCY at a time)."""
        ids = list(dict.fromkeys(asset_ids))
        histories = await bounded([self._asset_runs(tenant_id, a) for a in ids])
        return dict(zip(ids, histories, strict=True))

    async def _asset_runs(self, tenant_id: str, asset_id: str) -> list[RecognitionResult]:
        items = await query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :run)",
            ExpressionAttributeValues={":pk": s(ddb.result_pk(tenant_id, asset_id)), ":run": s("RUN#")},
        )
        return sorted(map(run_from_item, items), key=lambda r: (r.finished_at or utcnow(), r.id))

    async def _results_as_of(
        self, tenant_id: str, asset_ids: Sequence[str], as_of: datetime
    ) -> dict[str, dict[str, RecognitionResult]]:
        out: dict[str, dict[str, RecognitionResult]] = {}
        for asset_id, runs in (await self._histories(tenant_id, asset_ids)).items():
            for run in runs:  # oldest first: the last success by then wins
                if run.status == RunStatus.SUCCEEDED and run.finished_at and run.finished_at <= as_of:
                    out.setdefault(asset_id, {})[run.analyzer] = run
        return out

    async def get_labels(self, tenant_id: str, asset_ids: Sequence[str]) -> dict[str, tuple[Label, ...]]:
        keys = [ddb.key(ddb.result_pk(tenant_id, a), ddb.result_sk("labels")) for a in asset_ids]
        results = map(run_from_item, await batch_get(self._client, self._table, keys))
        return {r.asset_id: r.findings.labels for r in results}

    async def get_result(self, tenant_id: str, asset_id: str, analyzer: str) -> RecognitionResult | None:
        found = await batch_get(
            self._client, self._table, [ddb.key(ddb.result_pk(tenant_id, asset_id), ddb.result_sk(analyzer))]
        )
        return run_from_item(found[0]) if found else None

    async def current_models(
        self, tenant_id: str, asset_ids: Sequence[str], analyzers: Sequence[str]
    ) -> dict[str, dict[str, ModelRef]]:
        names = list(dict.fromkeys(analyzers))
        out: dict[str, dict[str, ModelRef]] = {}
        for item in [
            *await self._current_copies(tenant_id, asset_ids, [n for n in names if n != VIDEO]),
            *await self._current_copies(
                tenant_id, asset_ids, [VIDEO] if VIDEO in names else [], parameters=True
            ),
        ]:
            model = ModelRef(item["provider"]["S"], item["model_name"]["S"], item["model_version"]["S"])
            models = out.setdefault(item["asset_id"]["S"], {})
            models[item["analyzer"]["S"]] = model
            if "parameters" in item:  # a video run's
                models.update(shot_models(json.loads(item["parameters"]["S"])))
        return out

    async def _current_copies(
        self, tenant_id: str, asset_ids: Sequence[str], analyzers: Sequence[str], *, parameters: bool = False
    ) -> list[dict[str, Any]]:
        """The current copies' model attributes (and their parameters: a video run's, its shots' models, in
        a request of their own), read with a projection (a BatchGetItem still pays for whole items)."""
        keys = [
            ddb.key(ddb.result_pk(tenant_id, a), ddb.result_sk(analyzer))
            for a in dict.fromkeys(asset_ids)
            for analyzer in analyzers
        ]
        if not keys:
            return []
        projection = "asset_id, analyzer, #p, model_name, model_version" + (", #q" if parameters else "")
        names = {"#p": "provider"} | ({"#q": "parameters"} if parameters else {})
        return await batch_get(self._client, self._table, keys, projection=projection, names=names)

    async def runs_of(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        analyzer: str | None = None,
        *,
        limit: int = 100,
        finished_by: datetime | None = None,
    ) -> dict[str, list[RecognitionResult]]:
        out: dict[str, list[RecognitionResult]] = {}
        for asset_id, runs in (await self._histories(tenant_id, asset_ids)).items():
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
        return {r.id: r for r in map(run_from_item, await batch_get(self._client, self._table, keys))}
