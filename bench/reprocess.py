"""Reprocess benchmark: a tracked batch through the worker against the irreducible work, in one run.

Set-up (not timed): ingest N photos with labels only. Timed, alternating rounds:
- batch: `ReprocessService.start` over every asset with another threshold, the worker until the batch
  is done (read each preview, decode, labels, a new run per asset with its change summary, the current
  pointer, the change feed, re-index of changed assets, batch counters), then the batch report;
- raw: for each asset, decode its preview and run labels inference, with the same thread pool.
Last line:
    reprocess images=N images_per_s=X raw_images_per_s=Y overhead_ratio=Z report_ms=R     (Z = Y / X)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.ingest import make_images, wait_all_indexed
from catalog.domain.change_report import build_report
from indexer.cpu import CpuPool
from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.renditions import PREVIEW_MAX, PREVIEW_MIN, decode
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.reprocessing.requests import ReprocessRequest


async def ingest(services: Services, paths: list[Path]) -> tuple[str, list[str]]:
    tenant = await services.catalog.create_tenant("bench")
    ids = []
    for path in paths:
        outcome = await services.ingestor.ingest(tenant.id, path.read_bytes(), path.name)
        assert outcome.asset is not None, outcome.error
        ids.append(outcome.asset.id)
    worker = services.worker()
    await worker.run_until_idle()
    await wait_all_indexed(services, worker, tenant.id, ids)
    return tenant.id, ids


async def batch_round(services: Services, tenant: str, ids: list[str], threshold: int) -> tuple[float, float]:
    """(assets per second, report milliseconds) for one batch with min_confidence=threshold."""
    start = time.perf_counter()
    batch = await services.reprocess.start(
        tenant, ids, ReprocessRequest(analyzers=("labels",), parameters={"min_confidence": threshold})
    )
    await services.worker().run_until_idle()
    elapsed = time.perf_counter() - start
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and done.done == len(ids), done
    t0 = time.perf_counter()
    build_report(await services.catalog.change_records(tenant, batch_id=batch.id))
    return len(ids) / elapsed, (time.perf_counter() - t0) * 1000


async def raw_round(previews: list[bytes], labeler: EfficientNetLabeler, pool: CpuPool) -> float:
    def one(data: bytes) -> None:
        image = decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN)
        labeler.predict(labeler.prepare(image)[None], min_confidence=30, max_labels=20)

    start = time.perf_counter()
    await asyncio.gather(*(pool.run(one, p) for p in previews))
    return len(previews) / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=40, help="number of assets (default 40)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for decode and inference")
    parser.add_argument("--rounds", type=int, default=3, help="alternating raw/batch rounds (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp:
        root = Path(tmp)
        labeler = EfficientNetLabeler(root / "models")
        (root / "photos").mkdir()
        paths = make_images(root / "photos", args.images, (2048, 1536))
        settings = Settings(
            data_dir=root / "data", cpu_threads=args.threads, worker_concurrency=8, analyzers="labels",
            semantic_search=False,
        )  # fmt: skip
        services = build(settings, labeler=labeler)
        pool = CpuPool(args.threads)
        try:
            tenant, ids = await ingest(services, paths)
            assets = await services.catalog.get_assets(tenant, ids)
            previews = [
                await services.blobs.get(
                    next(r.blob_key for r in assets[i].renditions if r.kind == "preview")
                )
                for i in ids
            ]
            batch_rates, raw_rates, report_ms = [], [], []
            for round_ in range(args.rounds):
                raw_rates.append(await raw_round(previews, labeler, pool))
                rate, ms = await batch_round(
                    services, tenant, ids, 30 + round_ % 2 * 20
                )  # alternate: changes
                batch_rates.append(rate)
                report_ms.append(ms)
                print(f"round {round_ + 1}: batch {rate:.2f}/s raw {raw_rates[-1]:.2f}/s report {ms:.1f} ms")
        finally:
            pool.close()
            services.close()
    x, y = statistics.median(batch_rates), statistics.median(raw_rates)
    print(
        f"reprocess images={args.images} images_per_s={x:.2f} raw_images_per_s={y:.2f} "
        f"overhead_ratio={y / x:.2f} report_ms={statistics.median(report_ms):.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
