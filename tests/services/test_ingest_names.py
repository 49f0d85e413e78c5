"""The same bytes under a second name: one asset that keeps both names, found by either."""

from __future__ import annotations

from api.context import Context
from api.schema import schema
from catalog.domain.model import Scope
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

    ctx = Context(services=services, tenant_id=tenant, scopes=(Scope.READ,))
    result = await schema.execute(
        '{ search(query: "holiday") { totalCount edges { node { id filename filenames } } } }',
        context_value=ctx,
    )
    assert result.errors is None and result.data is not None
    assert result.data["search"]["totalCount"] == 1
    node = result.data["search"]["edges"][0]["node"]
    assert node == {
        "id": first.asset.id,
        "filename": "beach.jpg",
        "filenames": ["beach.jpg", "holiday_2019.jpg"],
    }
