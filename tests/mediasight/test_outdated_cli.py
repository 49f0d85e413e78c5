"""`mediasight outdated` and `mediasight reprocess --outdated`: after an upgrade, which runs an older
model made, and a batch over only those assets and analyzers; "nothing to do" once all are current."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from catalog.domain.model import BatchStatus
from catalog.domain.model_census import AnalyzerCensus, ModelRef
from mediasight.bootstrap import build
from mediasight.cli import app
from mediasight.outdated_cli import print_census
from mediasight.reprocess_cli import follow, outdated_analyzers, start_or_resume
from mediasight.settings import Settings
from mediasight.shared_cli import queued
from services.reprocessing.requests import ReprocessError, ReprocessRequest
from tests.conftest import jpeg_bytes
from tests.contract.catalogs import new_batch
from tests.fakes import ColorLabeler

COLORS = [(240, 10, 10), (10, 240, 10), (10, 10, 240)]


async def _ingest(settings: Settings, labeler: ColorLabeler) -> tuple[str, list[str]]:
    services = build(settings, labeler=labeler)
    try:
        tenant = await services.catalog.create_tenant("acme")
        await services.catalog.create_tenant("empty")
        ids = []
        for color in COLORS:
            outcome = await services.ingestor.ingest(tenant.id, jpeg_bytes(color), "c.jpg")
            assert outcome.asset is not None
            ids.append(outcome.asset.id)
        await services.worker().run_until_idle()
        return tenant.id, ids
    finally:
        services.close()


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", analyzers="labels", semantic_search=False)


async def test_an_upgrade_is_seen_and_only_outdated_assets_are_reprocessed(tmp_path: Path) -> None:
    settings, labeler = _settings(tmp_path), ColorLabeler()
    tenant, ids = await _ingest(settings, labeler)
    labeler.version = "2"  # the upgrade: the server's labels model now says another version
    services = build(settings, labeler=labeler)
    try:
        await services.reprocess.start(tenant, [ids[0]], ReprocessRequest(analyzers=("labels",)), inline=True)
        await services.worker().run_until_idle()  # one asset is current already

        (labels,) = await services.model_versions.census(tenant)
        assert labels.server == ModelRef("local", "fake-color", "2+dct")
        assert (labels.current, dict(labels.older)) == (1, {ModelRef("local", "fake-color", "1+dct"): 2})
        text = io.StringIO()
        assert print_census([labels], Console(file=text, width=300), "acme") == 2
        assert "1 assets current, 2 made by another model" in text.getvalue()
        assert "2 by local fake-color 1+dct" in text.getvalue()
        assert "--outdated --wait" in text.getvalue()

        assert await outdated_analyzers(services, tenant, ()) == ("labels",)
        request = ReprocessRequest(analyzers=("labels",), outdated=True)
        batch = await start_or_resume(services, tenant, resume=None, asset_ids=[], labels=[], request=request)
        assert (batch.status, batch.total) == (BatchStatus.RUNNING, 2)  # not the current one
        items = await services.catalog.batch_items(tenant, batch.id, "pending", after=None, limit=10)
        assert sorted(items) == sorted(ids[1:])
        done = await follow(services, batch, Console(file=io.StringIO()), work=True)
        assert (done.status, done.done, done.failed) == (BatchStatus.COMPLETED, 2, 0)

        (labels,) = await services.model_versions.census(tenant)
        assert (labels.current, labels.outdated) == (3, 0)
        text = io.StringIO()
        assert print_census([labels], Console(file=text, width=300), "acme") == 0
        assert "nothing to do" in text.getvalue()
        assert await outdated_analyzers(services, tenant, ()) == ()
        with pytest.raises(ReprocessError, match="unknown analyzer"):
            await outdated_analyzers(services, tenant, ("nope",))
        # --outdated with --asset: the outdated among them; now none is, and the batch says why
        again = await start_or_resume(
            services, tenant, resume=None, asset_ids=ids[:1], labels=[], request=request
        )
        assert again.status == BatchStatus.FAILED and "an older model made" in again.error
    finally:
        services.close()


def test_the_commands_report_the_server_model_and_start_a_batch_of_the_outdated(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    asyncio.run(_ingest(settings, ColorLabeler()))  # the fake model made them; the CLI runs the real one
    runner = CliRunner()
    env = {"MEDIASIGHT_DATA_DIR": str(settings.data_dir), "MEDIASIGHT_ANALYZERS": "labels",
           "MEDIASIGHT_SEMANTIC_SEARCH": "false"}  # fmt: skip

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, " ".join(result.stderr.split())

    code, out, _ = run("outdated", "--help")
    assert code == 0 and "older model" in out and "--outdated" in out
    code, out, _ = run("outdated", "--tenant", "acme")
    assert code == 0, out
    assert "labels: this server runs local efficientnet" in out
    assert "0 assets current, 3 made by another model" in out and "3 by local fake-color 1+dct" in out
    assert "3 runs of labels are older" in out
    code, out, _ = run("outdated", "--tenant", "acme", "--json")
    (labels,) = json.loads(out)
    assert (labels["analyzer"], labels["current"], labels["outdated"]) == ("labels", 0, 3)
    assert labels["older"] == [
        {"provider": "local", "modelName": "fake-color", "modelVersion": "1+dct", "assets": 3}
    ]
    code, out, _ = run("outdated", "--tenant", "empty")
    assert code == 0 and "nothing to do" in out
    code, _, err = run("outdated", "--tenant", "acme", "--analyzer", "nope")
    assert code == 2 and "unknown analyzer" in err

    code, out, err = run("reprocess", "--tenant", "acme", "--outdated")
    assert code == 0 and "3 assets queued" in err, err
    code, out, err = run("reprocess", "--tenant", "empty", "--outdated")
    assert code == 0 and "nothing to do" in out
    code, out, _ = run("reprocess", "--help")
    assert "--outdated" in out


def test_the_census_says_what_reprocessing_does_not_mend() -> None:
    shots = ModelRef("local", "transnetv2+fake", "s2")
    labels = AnalyzerCensus("labels", ModelRef("local", "fake", "2"), shots, current=3)
    concept = AnalyzerCensus("concept:Crimson", ModelRef("local", "logistic-probe", "v2"), current=3)
    concept.note = "its version 2 learnt from a vectors and this server makes b: train it again"
    text = io.StringIO()
    assert print_census([labels, concept], Console(file=text, width=300), "acme") == 0
    printed = text.getvalue()
    assert "(a video's shots and their labels: local transnetv2+fake s2)" in printed
    assert "not fixed by reprocessing: its version 2 learnt from a vectors" in printed
    assert "verify --repair" in printed.splitlines()[-1]  # the meaning texts are not counted here


def test_a_resumed_batch_says_what_is_left_not_its_total() -> None:
    """`reprocess --resume` of a finished batch said '16 assets queued'."""
    fresh = new_batch("t", total=16, enqueued=True)
    assert queued(fresh) == f"batch {fresh.id}: 16 assets queued"
    midway = dataclasses.replace(fresh, done=11, failed=1)
    assert queued(midway) == f"batch {fresh.id}: 4 of 16 assets queued again (11 done, 1 failed)"
    finished = dataclasses.replace(fresh, done=16)
    assert queued(finished) == f"batch {fresh.id}: already finished: 16 done"
