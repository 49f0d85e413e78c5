"""Label glosses in the meaning, with the real MiniLM embedder: a query in the words of a label's WordNet
gloss finds the asset whose label it is, though no label, parent or file name says it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.context import Context
from api.schema import schema
from catalog.domain.model import Label
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler

# What the fake classifier calls each dominant colour: ImageNet classes whose names say little of what a
# person would ask for ("stairs" → the banister); parents as the taxonomy has them.
NAMES = {
    "Red": Label("Banister", 0),
    "Green": Label("Palace", 0, ("House", "Building")),
    "Blue": Label("Tabby Cat", 0, ("Cat", "Pet", "Feline", "Carnivore", "Mammal", "Animal")),
}
SEARCH = """query ($q: String!) { search(query: $q) {
  edges { score meaning textMatch matches { label } node { filename } } } }"""


class ImageNetColorLabeler(ColorLabeler):
    """The dominant channel named as an ImageNet class (the fake labeler's confidence, its parents)."""

    def predict(self, batch: np.ndarray, **options: Any) -> list[list[Label]]:
        found = super().predict(batch, **options)
        return [
            [Label(NAMES[lb.name].name, lb.confidence, NAMES[lb.name].parents) for lb in labels[:1]]
            for labels in found
        ]


@pytest.fixture
async def archive(tmp_path: Path) -> AsyncIterator[tuple[Services, str]]:
    settings = Settings(data_dir=tmp_path / "data", analyzers="labels", semantic_search=True)
    services = build(settings, labeler=ImageNetColorLabeler())
    tenant, _ = await make_tenant(services, "acme")
    for i, colour in enumerate([(250, 0, 0), (0, 250, 0), (0, 0, 250)]):
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(colour), f"IMG_{i + 1:04d}.jpg")
        assert outcome.asset is not None, outcome.error
    await services.worker().run_until_idle()
    yield services, tenant
    services.close()


async def hits(services: Services, tenant: str, query: str) -> list[dict[str, object]]:
    result = await schema.execute(SEARCH, {"q": query}, context_value=Context(services, tenant))
    assert result.errors is None and result.data is not None, result.errors
    edges: list[dict[str, object]] = result.data["search"]["edges"]
    return edges


async def test_a_query_in_the_words_of_a_labels_gloss_finds_it(archive: tuple[Services, str]) -> None:
    services, tenant = archive
    stairs = await hits(services, tenant, "stairs")  # Banister: "a railing at the side of a staircase"
    assert stairs and stairs[0]["node"] == {"filename": "IMG_0001.jpg"}  # first (the palace may follow)
    assert stairs[0]["matches"] == [] and not stairs[0]["textMatch"] and stairs[0]["meaning"]  # says why
    assert all(e["meaning"] < stairs[0]["meaning"] for e in stairs[1:])  # type: ignore[operator]
    handrail = await hits(services, tenant, "a handrail")  # one of its other names
    assert handrail and handrail[0]["node"] == {"filename": "IMG_0001.jpg"}
    royal = await hits(services, tenant, "the residence of a sovereign")  # Palace's gloss
    assert royal and royal[0]["node"] == {"filename": "IMG_0002.jpg"}
