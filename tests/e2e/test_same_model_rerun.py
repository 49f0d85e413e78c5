"""The same model, version and parameters on the same assets find the same labels: a reprocess right after
ingest reports nothing changed (ingest analysed the in-memory image, reprocess the stored preview JPEG)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image
from skimage import data as samples

from api.context import Context
from api.schema import schema
from catalog.domain.model import Scope
from mediasight.bootstrap import build
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessRequest
from tests.conftest import make_tenant
from tests.e2e.conftest import new_data_dir

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "coins", "camera", "immunohistochemistry")


def jpeg(name: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(getattr(samples, name)()).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


async def test_a_same_model_reprocess_reports_no_change(tmp_path: Path, model_cache: Path) -> None:
    settings = Settings(
        data_dir=new_data_dir(tmp_path, model_cache),
        analyzers="labels",
        semantic_search=False,
        worker_concurrency=4,  # several assets in flight: forward passes batch them together at ingest
        job_retry_base_seconds=0.0,
    )
    services = build(settings)
    try:
        tenant, _ = await make_tenant(services, "acme")
        outcomes = await asyncio.gather(
            *(services.ingestor.ingest(tenant, jpeg(n), f"{n}.jpg") for n in PHOTOS)
        )
        ids = [o.asset.id for o in outcomes if o.asset is not None]
        assert len(ids) == len(PHOTOS)
        await services.worker().run_until_idle()
        ctx = Context(services=services, tenant_id=tenant, scopes=(Scope.READ,))

        async def labels() -> dict[str, object]:
            found = {}
            for asset_id in ids:
                result = await schema.execute(
                    "query ($id: ID!) { asset(id: $id) { status labels { name confidence } } }",
                    variable_values={"id": asset_id},
                    context_value=ctx,
                )
                assert result.data is not None and result.data["asset"]["status"] == "INDEXED"
                found[asset_id] = result.data["asset"]["labels"]
            return found

        before = await labels()
        assert sum(bool(found) for found in before.values()) >= 3  # some photos have nothing over 50

        batch = await services.reprocess.start(tenant, ids, ReprocessRequest(analyzers=("labels",)))
        await services.worker().run_until_idle()
        result = await schema.execute(
            "query ($id: ID!) { reprocessBatch(id: $id) { status done failed } "
            "batchReport(batchId: $id) { assetsCompared assetsChanged } }",
            variable_values={"id": batch.id},
            context_value=ctx,
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        assert result.data["reprocessBatch"] == {"status": "COMPLETED", "done": len(ids), "failed": 0}
        assert result.data["batchReport"] == {"assetsCompared": len(ids), "assetsChanged": 0}
        assert await labels() == before
    finally:
        services.close()
