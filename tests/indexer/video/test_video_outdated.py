"""After an upgrade, a video whose shots an older model read is outdated (`mediasight outdated`,
modelVersions), and reprocess(outdated) analyses its shots again: with the real shot model, labeler and
object detector."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from bench.clips import Shot, make_clip
from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model_census import ModelRef
from catalog.domain.video.findings import VIDEO
from indexer.recognizers.local.labels import EfficientNetLabeler
from mediasight.bootstrap import build
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessRequest
from tests.conftest import make_tenant

pytestmark = pytest.mark.video


async def test_a_video_whose_shots_an_older_detector_read_is_analysed_again(
    settings: Settings, labeler: EfficientNetLabeler, tmp_path: Path
) -> None:
    services = build(settings.model_copy(update={"analyzers": "labels,objects"}), labeler=labeler)
    try:
        tenant, _ = await make_tenant(services, "acme")
        clip = make_clip(tmp_path / "pets.mp4", [Shot("chelsea", 20), Shot("rocket", 20)])
        outcome = await services.ingestor.ingest_file(tenant, clip.path, "pets.mp4")
        assert outcome.asset is not None
        video = outcome.asset.id
        await services.worker().run_until_idle()
        census = {c.analyzer: c for c in await services.model_versions.census(tenant)}
        assert [(c.current, c.outdated) for c in census.values()] == [(1, 0), (1, 0)]
        shots = census["labels"].shots
        assert shots is not None and shots.model_name == f"transnetv2+{labeler.name}"

        # an older release's detector read its shots (the poster's objects run is current)
        run = await services.catalog.get_result(tenant, video, VIDEO)
        assert run is not None
        parameters = copy.deepcopy(run.parameters)
        parameters["segments"]["objects"]["version"] = "0.9"  # type: ignore[index]
        older = dataclasses.replace(run, id=uuid7(), parameters=parameters, finished_at=utcnow(), change=None)
        await services.catalog.save_result(tenant, older)
        census = {c.analyzer: c for c in await services.model_versions.census(tenant)}
        assert (census["labels"].current, census["labels"].outdated) == (1, 0)
        detector = census["objects"].server
        assert (census["objects"].current, census["objects"].outdated) == (0, 1)
        assert dict(census["objects"].older) == {dataclasses.replace(detector, model_version="0.9"): 1}
        assert isinstance(detector, ModelRef)

        batch = await services.reprocess.start(tenant, None, ReprocessRequest(outdated=True), inline=True)
        assert batch.total == 1 and batch.analyzers == ("labels", "objects")
        await services.worker().run_until_idle()
        census = {c.analyzer: c for c in await services.model_versions.census(tenant)}
        assert [(c.current, c.outdated) for c in census.values()] == [(1, 0), (1, 0)]
        runs = await services.catalog.runs_of(tenant, [video])
        made = [r.analyzer for r in runs[video] if r.batch_id == batch.id]
        assert sorted(made) == ["objects", VIDEO]  # its shots read again; labels were current: not run
    finally:
        services.close()
