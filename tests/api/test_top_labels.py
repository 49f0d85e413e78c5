"""Asset.topLabels: the specific labels, and what an asset no label is sure of still says it shows."""

from __future__ import annotations

from typing import Any

from api.context import Context
from api.schema import schema
from mediasight.bootstrap import build
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler

TOP = """query ($id: ID!) { asset(id: $id) {
  labels { name confidence guess }
  top: topLabels(first: 3) { name confidence }
  sure: topLabels(first: 3, minConfidence: 50) { name }
  any: topLabels(first: 3, minConfidence: 0) { name }
} }"""


async def top_labels(settings: Settings, color: tuple[int, int, int]) -> dict[str, Any]:
    # the fake names the dominant channel (and its parent "Color") with its share: 30 keeps the weak ones
    services = build(settings.model_copy(update={"label_min_confidence": 30.0}), labeler=ColorLabeler())
    try:
        tenant, _ = await make_tenant(services, "acme")
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), "x.jpg")
        assert outcome.asset is not None
        await services.worker().run_until_idle()
        result = await schema.execute(
            TOP, variable_values={"id": outcome.asset.id}, context_value=Context(services, tenant)
        )
        assert result.errors is None and result.data is not None, result.errors
        asset: dict[str, Any] = result.data["asset"]
        return asset
    finally:
        services.close()


async def test_specific_labels_only_at_50_by_default(settings: Settings) -> None:
    red = await top_labels(settings, (240, 20, 20))
    assert [lb["name"] for lb in red["labels"]] == ["Red", "Color"]
    assert [lb["name"] for lb in red["top"]] == ["Red"] == [lb["name"] for lb in red["sure"]]
    assert [lb["guess"] for lb in red["labels"]] == [False, False]


async def test_an_asset_nothing_is_sure_of_gives_its_best_specific_label(settings: Settings) -> None:
    grey = await top_labels(settings, (120, 110, 100))  # red's share ~36 %: no label reaches 50
    assert [lb["name"] for lb in grey["labels"]] == ["Red", "Color"]
    assert all(lb["confidence"] < 50 for lb in grey["labels"])
    assert all(lb["guess"] for lb in grey["labels"])  # said, and marked as the model's guess
    assert [lb["name"] for lb in grey["top"]] == ["Red"]  # said, with its low confidence
    assert grey["top"][0]["confidence"] == grey["labels"][0]["confidence"]
    assert grey["sure"] == []  # asked for 50: nothing
    assert [lb["name"] for lb in grey["any"]] == ["Red"]
