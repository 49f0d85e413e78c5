"""A tenant switched to Rekognition gets the same GraphQL shapes (client stubbed with AioStubber)."""

from __future__ import annotations

from typing import Any

import aioboto3
from aiobotocore.stub import AioStubber

from api.context import Context
from api.schema import schema
from catalog.domain.model import TenantConfig
from catalog.domain.ports import SearchQuery
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant
from tests.indexer.recognizers.rekognition.stubs import use_rekognition

DETECT_LABELS = {
    "Labels": [
        {
            "Name": "Dog",
            "Confidence": 97.5,
            "Instances": [],
            "Parents": [{"Name": "Pet"}, {"Name": "Mammal"}, {"Name": "Animal"}],
        },
        {"Name": "Animal", "Confidence": 99.1, "Instances": [], "Parents": []},
    ],
    "LabelModelVersion": "3.0",
}
QUERY = """query ($id: ID!) { asset(id: $id) {
  status labels { name confidence parents } runs { analyzer provider modelName modelVersion }
} }"""


async def asset(services: Services, tenant: str, asset_id: str) -> dict[str, Any]:
    result = await schema.execute(
        QUERY, variable_values={"id": asset_id}, context_value=Context(services, tenant)
    )
    assert result.errors is None and result.data is not None, result.errors
    found: dict[str, Any] = result.data["asset"]
    return found


async def test_rekognition_tenant_gets_the_same_shapes(services: Services, aws_env: None) -> None:
    local, _ = await make_tenant(services, "local")
    cloud, _ = await make_tenant(services, "cloud")
    await services.catalog.set_tenant_config(cloud, TenantConfig(providers={"labels": "rekognition"}))
    async with aioboto3.Session().client("rekognition", region_name="us-east-1") as client:
        with AioStubber(client) as stub:
            stub.add_response("detect_labels", DETECT_LABELS)
            use_rekognition(services, client)
            mine = await services.ingestor.ingest(local, jpeg_bytes((200, 20, 20)), "a.jpg")
            theirs = await services.ingestor.ingest(cloud, jpeg_bytes((20, 20, 200)), "b.jpg")
            assert mine.asset is not None and theirs.asset is not None
            await services.worker().run_until_idle()
            stub.assert_no_pending_responses()
    local_asset = await asset(services, local, mine.asset.id)
    cloud_asset = await asset(services, cloud, theirs.asset.id)
    assert local_asset.keys() == cloud_asset.keys() and cloud_asset["status"] == "INDEXED"
    assert cloud_asset["labels"] == [  # the specific label first, though its parent is more confident
        {"name": "Dog", "confidence": 97.5, "parents": ["Pet", "Mammal", "Animal"]},
        {"name": "Animal", "confidence": 99.1, "parents": []},
    ]
    assert cloud_asset["runs"] == [
        {"analyzer": "labels", "provider": "rekognition", "modelName": cloud_asset["runs"][0]["modelName"],
         "modelVersion": "3.0"},
    ]  # fmt: skip
    assert local_asset["runs"][0]["provider"] == "local"
    page = await services.index.search(cloud, SearchQuery(labels=("mammal",)))
    assert [h.asset_id for h in page.hits] == [theirs.asset.id]
