"""The command line lists labels as the pages do (a model's guess, under 50, carries a question mark) and
says why each search hit scored, as the API's edges do."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from catalog.domain.model import Label
from catalog.domain.ports import LabelMatch, SearchHit
from mediasight.bootstrap import build
from mediasight.browse_cli import _labels, _matching, _why
from mediasight.cli import app
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes
from tests.fakes import ColorLabeler


def test_a_guess_is_marked_and_a_sure_label_is_not() -> None:
    labels = [Label("Cat", 93.44, ("Feline",)), Label("Missile", 42.0), Label("Rocket", 50.0)]
    assert _labels(labels) == "Cat 93.4, Missile? 42.0, Rocket 50.0"


def test_each_hit_says_why_it_scored() -> None:
    by_parent = SearchHit("a1", 90.5, (LabelMatch("Person", 98.05, "human"),), meaning=0.7305)
    assert _why(by_parent) == "Person 98.0 as human; meaning 0.73"
    guessed = SearchHit("a2", 12.0, (LabelMatch("Car", 31.2, "car"),))
    assert _why(guessed) == "Car? 31.2"  # a guess reads as one, as in the labels column
    assert _why(SearchHit("a3", 35.0, text_match=True)) == "words"
    assert _why(SearchHit("a4", 13.8, meaning=0.4607)) == "meaning 0.46"


def test_the_count_reads_as_english() -> None:
    assert _matching(1) == "1 asset matches"
    assert _matching(0) == "0 assets match" and _matching(11) == "11 assets match"


def test_a_label_search_that_finds_only_guesses_says_how_to_see_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, analyzers="labels", semantic_search=False, label_min_confidence=30)

    async def setup() -> None:  # ColorLabeler: a sure Green, and two muted reds that are only guesses
        services = build(settings, labeler=ColorLabeler())
        try:
            tenant = await services.catalog.create_tenant("acme")
            for color in [(10, 240, 10), (120, 100, 90), (110, 100, 95)]:
                await services.ingestor.ingest(tenant.id, jpeg_bytes(color), f"{color[0]}.jpg")
            await services.worker().run_until_idle()
        finally:
            services.close()

    asyncio.run(setup())
    env = {"MEDIASIGHT_DATA_DIR": str(tmp_path), "MEDIASIGHT_SEMANTIC_SEARCH": "false", "COLUMNS": "200"}

    def search(*args: str) -> str:
        result = CliRunner().invoke(app, ["search", *args, "--tenant", "acme"], env=env)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    said = "No asset is surely labelled Red; 2 have it as a guess: add --guesses to see them."
    assert search("--label", "red") == said
    assert "2 assets match" in search("--label", "red", "--guesses")
    assert search("--label", "Blue") == "No assets match."
