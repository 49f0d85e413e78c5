"""Tenant deletion benchmark (embedded stack): how fast `tenant delete` removes a tenant, and what another
tenant's searches feel meanwhile.

Set-up (not timed): two tenants ingest N small photos each through the real pipeline with a stand-in labeler
(runs, renditions, index documents, blobs and the change feed are all real; only the model is not). Timed:
`delete_tenant` of one of them, while the other tenant searches in a loop on the same event loop.
Last line:
    tenant_delete assets=N seconds=S assets_per_s=R records=C blobs=B kept_search_p95_ms=P
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from catalog.domain.ports import SearchQuery
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.tenant_deletion import delete_tenant
from tests.fakes import ColorLabeler


def photo(i: int) -> bytes:
    rng = np.random.default_rng(i)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


async def fill(services: Services, name: str, count: int, offset: int) -> str:
    tenant = await services.catalog.create_tenant(name)
    for i in range(count):
        outcome = await services.ingestor.ingest(tenant.id, photo(offset + i), f"{name}-{i}.jpg")
        assert outcome.asset is not None, outcome.error
    await services.worker().run_until_idle()
    return tenant.id


async def searches(services: Services, tenant_id: str, stop: asyncio.Event) -> list[float]:
    times = []
    while not stop.is_set():
        t0 = time.perf_counter()
        await services.index.search(tenant_id, SearchQuery(first=20))
        times.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.005)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--assets", type=int, default=2000, help="assets of the deleted tenant (default 2000)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), analyzers="labels", semantic_search=False)
        services = build(settings, labeler=ColorLabeler())
        try:
            doomed = await fill(services, "doomed", args.assets, 0)
            kept = await fill(services, "kept", max(10, args.assets // 10), args.assets)
            tenant = await services.catalog.get_tenant(doomed)
            assert tenant is not None
            stop = asyncio.Event()
            watcher = asyncio.create_task(searches(services, kept, stop))
            t0 = time.perf_counter()
            done = await delete_tenant(
                tenant, catalog=services.catalog, index=services.index, blobs=services.blobs,
                faces=services.faces,
            )  # fmt: skip
            seconds = time.perf_counter() - t0
            stop.set()
            latencies = await watcher
        finally:
            await services.aclose()
    p95 = float(np.percentile(latencies, 95)) if latencies else float("nan")
    print(
        f"kept tenant: {len(latencies)} searches during the deletion, "
        f"median {statistics.median(latencies) if latencies else float('nan'):.1f} ms"
    )
    print(
        f"tenant_delete assets={args.assets} seconds={seconds:.2f} assets_per_s={args.assets / seconds:.0f} "
        f"records={done.records} blobs={done.blobs} kept_search_p95_ms={p95:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
