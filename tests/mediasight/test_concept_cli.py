"""`mediasight concept`: examples by ID and uploaded files (training examples, hidden from search), the
shared create/add reporting, deactivation's clear refusal of a concept that is not active, and `show` saying
a version's scores are being prepared."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pytest
from typer.testing import CliRunner, Result

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import Concept, ConceptVersion, VersionStatus
from catalog.domain.ids import uuid7
from mediasight import shared_cli
from mediasight.bootstrap import build, open_services
from mediasight.cli import app
from mediasight.settings import Settings
from tests.api.concepts.test_concepts_graphql import OTHERS, REDS
from tests.conftest import jpeg_bytes
from tests.fakes import ColorFeatureLabeler, ColorLabeler
from tests.mediasight.indexed import indexed_colors


def test_concept_add_uploads_training_examples(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", analyzers="labels", semantic_search=False)

    async def setup() -> str:
        services = build(settings, labeler=ColorLabeler())
        try:
            tenant = await services.catalog.create_tenant("acme")
            outcome = await services.ingestor.ingest(tenant.id, jpeg_bytes((10, 240, 10)), "green.jpg")
            assert outcome.asset is not None
            return outcome.asset.id
        finally:
            services.close()

    green = asyncio.run(setup())
    files = []
    for n, color in enumerate([(240, 10, 10), (230, 20, 30)]):
        path = tmp_path / f"red-{n}.jpg"
        path.write_bytes(jpeg_bytes(color))
        files.append(path)
    runner = CliRunner()
    env = {"MEDIASIGHT_DATA_DIR": str(settings.data_dir), "MEDIASIGHT_ANALYZERS": "labels",
           "MEDIASIGHT_SEMANTIC_SEARCH": "false"}  # fmt: skip

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())

    code, out, _ = run("concept", "create", "acme", "Crimson", "--negative", green)
    assert code == 0 and "concept 'Crimson': 0 positive, 1 negative examples" in out
    code, out, err = run(
        "concept", "add", "acme", "Crimson", "--upload", str(files[0]), "--upload", str(files[1])
    )
    assert code == 0 and "2 files uploaded as training examples" in err, err
    assert "concept 'Crimson': 2 positive, 1 negative examples" in out
    code, _, err = run("concept", "add", "acme", "Crimson", "--upload", str(tmp_path / "missing.jpg"))
    assert code == 2 and "cannot read" in err
    code, _, err = run("concept", "deactivate", "acme", "Crimson")
    assert code == 2 and "is not active" in err

    async def check() -> None:
        services = build(settings, labeler=ColorLabeler())
        try:
            tenant = await services.catalog.get_tenant_by_name("acme")
            assert tenant is not None
            concept = await services.concepts.get(tenant.id, "Crimson")
            examples = await services.concepts.examples(tenant.id, concept)
            uploaded = [e.asset_id for e in examples if e.source.value == "upload"]
            assets = await services.catalog.get_assets(tenant.id, uploaded)
            assert len(assets) == 2 and all(a.training_example for a in assets.values())
        finally:
            services.close()

    asyncio.run(check())


def test_concept_show_says_when_a_versions_scores_are_being_prepared(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", analyzers="labels", semantic_search=False)

    async def setup() -> None:  # a READY version trained before scores were kept
        services = build(settings, labeler=ColorLabeler())
        try:
            tenant = await services.catalog.create_tenant("acme")
            concept = Concept(uuid7(), tenant.id, "Crimson", (), (), utcnow(), versions=1)
            await services.catalog.create_concept(concept)
            await services.catalog.add_version(
                ConceptVersion(tenant.id, concept.id, 1, VersionStatus.READY, "features", utcnow())
            )
        finally:
            services.close()

    asyncio.run(setup())
    env = {"MEDIASIGHT_DATA_DIR": str(settings.data_dir), "MEDIASIGHT_ANALYZERS": "labels",
           "MEDIASIGHT_SEMANTIC_SEARCH": "false"}  # fmt: skip
    result = CliRunner().invoke(app, ["concept", "show", "acme", "Crimson"], env=env)
    out = " ".join(result.stdout.split())
    assert result.exit_code == 0, result.stderr
    assert "v1 ready" in out
    assert (
        "suggestions: the scores of version 1 of concept 'Crimson' over the archive are being prepared" in out
    )

    async def queued() -> int:
        services = build(settings, labeler=ColorLabeler())
        try:
            return await services.queue.pending()
        finally:
            services.close()

    assert asyncio.run(queued()) == 1  # the worker of `mediasight serve`/`worker` scores it


class Colors(NamedTuple):
    run: Callable[..., Result]  # a `mediasight` command on the data dir, with the same fake labeler
    reds: list[str]  # red-0.jpg ... red-6.jpg
    others: list[str]  # other-0.jpg ... other-6.jpg


@pytest.fixture
def colors(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Colors:
    """Seven reds and seven others indexed with a fake labeler that gives feature vectors."""

    files = [(f"red-{n}.jpg", c) for n, c in enumerate(REDS)] + [
        (f"other-{n}.jpg", c) for n, c in enumerate(OTHERS)
    ]
    ids = indexed_colors(settings, ColorFeatureLabeler(), files)
    monkeypatch.setattr(shared_cli, "open_services", partial(open_services, labeler=ColorFeatureLabeler()))
    runner = CliRunner(env={"MEDIASIGHT_DATA_DIR": str(settings.data_dir), "MEDIASIGHT_ANALYZERS": "labels",
                            "MEDIASIGHT_SEMANTIC_SEARCH": "false", "COLUMNS": "200"})  # fmt: skip
    return Colors(lambda *args: runner.invoke(app, list(args)), ids[: len(REDS)], ids[len(REDS) :])


def examples(option: str, ids: list[str]) -> list[str]:
    return [arg for asset_id in ids for arg in (option, asset_id)]


def test_concept_show_names_each_suggestion_and_its_score(colors: Colors) -> None:
    create = ["concept", "create", "acme", "Crimson"]
    assert (
        colors.run(
            *create, *examples("--positive", colors.reds[:5]), *examples("--negative", colors.others[:5])
        ).exit_code
        == 0
    )
    assert colors.run("concept", "train", "acme", "Crimson", "--wait").exit_code == 0
    shown = colors.run("concept", "show", "acme", "Crimson").stdout
    lines = shown.split("is this also it?", 1)[1].splitlines()[1:]
    first, second = (line.split() for line in lines[:2])  # the two reds that are not examples, sure ones
    assert {first[0], second[0]} == {"red-5.jpg", "red-6.jpg"} and float(first[1]) > 50, shown
    assert first[2] in colors.reds[5:] and all(" 0.0 " not in line for line in lines), shown


def test_the_log_counts_the_examples_a_concept_is_created_with(
    colors: Colors, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.concepts")
    create = ["concept", "create", "acme", "Crimson", *examples("--positive", colors.reds[:5])]
    assert colors.run(*create, *examples("--negative", colors.others[:2])).exit_code == 0
    assert "concept 'Crimson' created with 7 examples (5 positive, 2 negative)" in caplog.text, caplog.text
    assert colors.run("concept", "add", "acme", "Crimson", "--negative", colors.others[2]).exit_code == 0
    assert "concept 'Crimson': 1 example (0 positive, 1 negative) added" in caplog.text


def test_train_wait_says_what_it_does_not_0_of_unknown(colors: Colors) -> None:
    create = ["concept", "create", "acme", "Crimson", *examples("--positive", colors.reds[:5])]
    assert colors.run(*create, *examples("--negative", colors.others[:5])).exit_code == 0
    trained = colors.run("concept", "train", "acme", "Crimson", "--wait")
    shown = " ".join(trained.stderr.split())
    assert trained.exit_code == 0 and "0/?" not in shown, shown
    said = "training version 1 of 'Crimson' on its 5 positive, 5 negative examples, then scoring the archive"
    assert said in shown and "version 1 ready" in trained.stdout
