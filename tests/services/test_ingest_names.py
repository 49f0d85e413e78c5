"""The same bytes under a second name: one asset that keeps both names, found by either."""

from __future__ import annotations

from typing import Any

import pytest

from api.context import Context
from api.schema import schema
from catalog.domain.model import Scope
from indexer.analysis_runs import AnalysisRuns
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant


async def test_a_duplicate_keeps_its_name_and_is_found_by_it(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    data = jpeg_bytes((10, 120, 200), (96, 64))
    first = await services.ingestor.ingest(tenant, data, "beach.jpg")
    await services.worker().run_until_idle()
    again = await services.ingestor.ingest(tenant, data, "holiday_2019.jpg")
    assert again.status == "duplicate" and again.asset is not None and first.asset is not None
    assert again.asset.id == first.asset.id and again.asset.filename == "beach.jpg"
    assert again.asset.filenames == ("beach.jpg", "holiday_2019.jpg")
    await services.worker().run_until_idle()  # the refresh job re-indexes the document with both names
    assert await found_by(services, tenant, "holiday") == {
        "id": first.asset.id,
        "filename": "beach.jpg",
        "filenames": ["beach.jpg", "holiday_2019.jpg"],
    }


async def test_a_duplicate_that_arrives_while_the_first_is_analysed_is_found_by_its_name(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second name arrives after the pipeline read the asset and before it indexed it (a folder holding
    the same photo twice): the index must not keep the pipeline's older copy without it."""
    tenant, _ = await make_tenant(services, "acme")
    data = jpeg_bytes((200, 120, 10), (96, 64))
    first = await services.ingestor.ingest(tenant, data, "IMG_0001.jpg")
    analyze = AnalysisRuns.analyze

    async def analyze_while_the_copy_arrives(self: AnalysisRuns, *args: Any, **kwargs: Any) -> Any:
        copy = await services.ingestor.ingest(tenant, data, "harbour_1958.jpg")
        assert copy.status == "duplicate"
        return await analyze(self, *args, **kwargs)

    monkeypatch.setattr(AnalysisRuns, "analyze", analyze_while_the_copy_arrives)
    await services.worker().run_until_idle()
    assert first.asset is not None
    assert await found_by(services, tenant, "harbour") == {
        "id": first.asset.id,
        "filename": "IMG_0001.jpg",
        "filenames": ["IMG_0001.jpg", "harbour_1958.jpg"],
    }


async def found_by(services: Services, tenant: str, words: str) -> dict[str, Any]:
    """The one search hit for these words."""
    ctx = Context(services=services, tenant_id=tenant, scopes=(Scope.READ,))
    result = await schema.execute(
        "query ($q: String!) { search(query: $q) { totalCount edges { node { id filename filenames } } } }",
        variable_values={"q": words},
        context_value=ctx,
    )
    assert result.errors is None and result.data is not None
    assert result.data["search"]["totalCount"] == 1, result.data
    node: dict[str, Any] = result.data["search"]["edges"][0]["node"]
    return node
