"""A model's guess over GraphQL: the label facets leave it out, label filters match it only with
`includeGuesses`, and a hit it matched says so (`matches { guess }`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from catalog.domain.model import Label
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.test_graphql import ingest_colors, run
from tests.conftest import make_tenant
from tests.fakes import ColorLabeler

SEARCH = """
query ($query: String, $filter: SearchFilter) {
  search(query: $query, filter: $filter, first: 10) {
    totalCount
    edges { matches { label confidence via guess } node { filename labels { name guess } } }
    facets { labels { value count } }
  }
}
"""


class KiteLabeler(ColorLabeler):
    """The colour labels, and a kite: sure on green pictures, a guess (30) on red ones."""

    def predict(
        self,
        batch: np.ndarray,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[list[Label]]:
        out = super().predict(batch, min_confidence=min_confidence, max_labels=max_labels)
        kites = {"Green": 80.0, "Red": 30.0}
        return [
            [*labels, *(Label("Kite", kites[lb.name], ("Toy",)) for lb in labels[:1] if lb.name in kites)]
            for labels in out
        ]


@pytest.fixture
async def kites(settings: Settings) -> AsyncIterator[Services]:
    services = build(settings, labeler=KiteLabeler())
    yield services
    services.close()


async def test_a_guess_is_no_facet_count_and_matches_a_label_filter_only_when_asked(kites: Services) -> None:
    tenant, _ = await make_tenant(kites, "acme")
    await ingest_colors(kites, tenant)
    every = (await run(kites, tenant, SEARCH))["search"]
    red = next(e["node"] for e in every["edges"] if e["node"]["filename"] == "red.jpg")
    assert {"name": "Kite", "guess": True} in red["labels"]
    facets = {f["value"]: f["count"] for f in every["facets"]["labels"]}
    assert facets["Kite"] == 1  # the green one's; the red one's is a guess

    sure = (await run(kites, tenant, SEARCH, filter={"labels": ["Kite"]}))["search"]
    assert sure["totalCount"] == 1 and [e["node"]["filename"] for e in sure["edges"]] == ["green.jpg"]
    assert sure["edges"][0]["matches"] == [
        {"label": "Kite", "confidence": 80.0, "via": "kite", "guess": False}
    ]
    toys = (await run(kites, tenant, SEARCH, filter={"labels": ["toy"], "includeGuesses": True}))["search"]
    assert [e["node"]["filename"] for e in toys["edges"]] == ["green.jpg", "red.jpg"]
    assert toys["edges"][1]["matches"] == [{"label": "Kite", "confidence": 30.0, "via": "toy", "guess": True}]
    weaker = {"labels": ["Kite"], "includeGuesses": True, "minConfidence": 31}
    assert (await run(kites, tenant, SEARCH, filter=weaker))["search"]["totalCount"] == 1
    others = (await run(kites, tenant, SEARCH, filter={"notLabels": ["Kite"]}))["search"]
    assert sorted(e["node"]["filename"] for e in others["edges"]) == ["blue.jpg", "red.jpg"]
    # a text query finds a guess by its name, explained as one
    named = (await run(kites, tenant, SEARCH, query="kite"))["search"]
    assert [e["matches"][0]["guess"] for e in named["edges"]] == [False, True]
