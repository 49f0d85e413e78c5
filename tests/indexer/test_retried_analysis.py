"""A job retried after one analyzer failed runs only that analyzer again: the runs an earlier attempt saved
are kept, not saved once per attempt (5 attempts listed each analyzer 5 times in `show`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from catalog.domain.model import RecognitionResult, Stage
from indexer.recognizers.ports import AnalysisInput
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessRequest
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler


def fail_first_calls(services: Services, analyzer: str, times: int) -> None:
    """The analyzer's first `times` calls fail as a provider's outage would."""
    real = services.analyzers.get(analyzer, "local")
    original = real.analyze
    calls = Counter[str]()

    async def flaky(item: AnalysisInput, params: dict[str, Any]) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise ConnectionError("provider unreachable")
        return await original(item, params)

    real.analyze = flaky  # type: ignore[method-assign]


def statuses(runs: list[RecognitionResult]) -> list[str]:
    return [str(r.status) for r in runs]


async def test_a_retried_ingest_keeps_the_runs_its_first_attempt_saved(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        job_retry_base_seconds=0.0,
        analyzers="labels,properties",
        semantic_search=False,
    )
    services = build(settings, labeler=ColorLabeler())
    try:
        tenant, _ = await make_tenant(services, "acme")
        fail_first_calls(services, "properties", times=1)
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((240, 20, 20)), "red.jpg")
        assert outcome.asset is not None
        asset_id = outcome.asset.id
        await services.worker().run_until_idle()
        asset = await services.catalog.get_asset(tenant, asset_id)
        assert asset is not None and asset.status == Stage.INDEXED
        runs = (await services.catalog.runs_of(tenant, [asset_id])).get(asset_id, [])
        by = {a: statuses([r for r in runs if r.analyzer == a]) for a in ("labels", "properties")}
        assert by == {"labels": ["succeeded"], "properties": ["succeeded", "failed"]}

        # A reprocess batch retried the same way: one run of each per batch.
        fail_first_calls(services, "properties", times=1)
        batch = await services.reprocess.start(tenant, [asset_id], ReprocessRequest())
        await services.worker().run_until_idle()
        runs = (await services.catalog.runs_of(tenant, [asset_id])).get(asset_id, [])
        in_batch = Counter((r.analyzer, str(r.status)) for r in runs if r.batch_id == batch.id)
        assert in_batch == {
            ("labels", "succeeded"): 1,
            ("properties", "succeeded"): 1,
            ("properties", "failed"): 1,
        }
        done = await services.catalog.get_batch(tenant, batch.id)
        assert done is not None and (done.done, done.failed) == (1, 0)
    finally:
        services.close()
