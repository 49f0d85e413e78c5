"""Concept scores on the scale-out catalog: the "is this also X?" suggestions and the uncertain items read
from a version's kept scores on DynamoDB Local, against the scan of every stored vector each request made
before scores were kept (bench/concepts.py measures the same on the embedded catalog).

--vectors assets are registered with a random float16 1280-d feature vector each through the catalog port
(one tenant), a probe is fitted on a few of them, and per round: the old request (every vector read from
DynamoDB in pages of 500, scored in the CPU pool, the top 12 kept), the archive scored and kept once (what
a training adds), then the suggestions (top 12) and the 12 items nearest the threshold read from the kept
scores. Wall and CPU time of this process (DynamoDB Local's own CPU is not in it), with the load average.
DynamoDB Local runs in a private network namespace (root), as in the contract tests. Last line:
    concept_scores catalog=dynamodb vectors=N scan_ms=.. scan_cpu_ms=.. archive_score_vectors_per_s=..
      suggestions_ms=.. suggestions_cpu_ms=.. uncertain_ms=.. uncertain_cpu_ms=.. load=..
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import numpy as np

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from bench.backfill import dynamodb_local_table
from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import ConceptVersion, VersionStatus
from catalog.domain.ids import uuid7
from catalog.domain.model import FeatureVector
from catalog.domain.ports import CatalogStore
from catalog.dynamodb.catalog import DynamoCatalog
from indexer.concepts.probe import as_matrix, score_blobs, train
from indexer.concepts.ranking import ConceptScores, Scored
from indexer.cpu import CpuPool
from tests.contract.catalogs import new_asset

MODEL = "bench-features"
FIRST = 12
T = TypeVar("T")


async def timed(work: Callable[[], Awaitable[T]]) -> tuple[T, float, float]:
    """The result, wall seconds and CPU seconds (this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = await work()
    return out, time.perf_counter() - wall, time.process_time() - cpu


async def scan_top(catalog: CatalogStore, cpu: CpuPool, tenant: str, version: ConceptVersion) -> list[Scored]:
    """What a suggestions request did before scores were kept: every stored vector read and scored."""
    weights = version.weights_or_raise()
    best: list[Scored] = []
    after = None
    while page := await catalog.scan_features(tenant, MODEL, after=after, limit=500):
        after = page[-1][0]
        p = await cpu.run(score_blobs, weights, [v for _, v in page])
        best = sorted([*best, *(Scored(a, float(x)) for (a, _), x in zip(page, p, strict=True))],
                      key=lambda s: -s.probability)[:FIRST]  # fmt: skip
    return best


async def fill(catalog: CatalogStore, tenant: str, vectors: np.ndarray) -> list[str]:
    ids = sorted(uuid7() for _ in range(len(vectors)))
    for start in range(0, len(ids), 200):
        chunk = list(zip(ids[start : start + 200], vectors[start : start + 200], strict=True))
        await asyncio.gather(
            *(catalog.register_asset(new_asset(tenant, f"{a:0>64}", id=a)) for a, _ in chunk)
        )
        await asyncio.gather(
            *(
                catalog.save_features(tenant, a, FeatureVector(MODEL, v.astype("<f2").tobytes()))
                for a, v in chunk
            )
        )
    return ids


def ms(timings: list[float]) -> str:
    return f"{statistics.median(timings) * 1000:.1f}"


async def measure(client: Any, table: str, args: argparse.Namespace) -> dict[str, list[float]]:
    catalog = DynamoCatalog(client, table)
    cpu = CpuPool(2)
    out: dict[str, list[float]] = {
        k: [] for k in ("scan", "scan_cpu", "rate", "top", "top_cpu", "near", "near_cpu")
    }
    try:
        tenant = (await catalog.create_tenant("bench")).id
        rng = np.random.default_rng(0)
        vectors = rng.random((args.vectors, 1280)).astype(np.float32)
        t0 = time.perf_counter()
        ids = await fill(catalog, tenant, vectors)
        print(f"stored {args.vectors} assets and their vectors in {time.perf_counter() - t0:.1f} s")
        stored = await catalog.get_features(tenant, ids[:60], MODEL)
        x = as_matrix([stored[a] for a in ids[:60]])
        weights, metrics = train(x[:10], x[10:])
        version = ConceptVersion(
            tenant, uuid7(), 1, VersionStatus.READY, MODEL, utcnow(), metrics=metrics, weights=weights
        )
        scores = ConceptScores(catalog, cpu)
        for round_ in range(args.rounds):
            old, wall, used = await timed(lambda: scan_top(catalog, cpu, tenant, version))
            out["scan"].append(wall)
            out["scan_cpu"].append(used)
            t0 = time.perf_counter()
            await scores.score_archive(tenant, version)
            out["rate"].append(args.vectors / (time.perf_counter() - t0))
            top, wall, used = await timed(lambda: scores.top(tenant, version, first=FIRST, skip=()))
            out["top"].append(wall)
            out["top_cpu"].append(used)
            agree = len(top) == len(old) and all(
                abs(a.probability - b.probability) <= 1e-6 for a, b in zip(top, old, strict=True)
            )
            assert agree, "the kept scores' top is not the scan's"
            _, wall, used = await timed(
                lambda: scores.near(tenant, version, metrics.threshold, first=FIRST, skip=())
            )
            out["near"].append(wall)
            out["near_cpu"].append(used)
            print(
                f"round {round_ + 1}: scan {out['scan'][-1] * 1000:,.0f} ms wall "
                f"{out['scan_cpu'][-1] * 1000:,.0f} ms CPU; "
                f"archive scored and kept at {out['rate'][-1]:,.0f} vectors/s; suggestions "
                f"{out['top'][-1] * 1000:,.1f} ms wall {out['top_cpu'][-1] * 1000:,.1f} ms CPU, uncertain "
                f"{out['near'][-1] * 1000:,.1f} ms wall {out['near_cpu'][-1] * 1000:,.1f} ms CPU"
            )
    finally:
        cpu.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=10_000, help="stored vectors (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement (median)")
    args = parser.parse_args()
    async with dynamodb_local_table() as (client, table):
        out = await measure(client, table, args)
    print(
        f"concept_scores catalog=dynamodb vectors={args.vectors} scan_ms={ms(out['scan'])} "
        f"scan_cpu_ms={ms(out['scan_cpu'])} archive_score_vectors_per_s={statistics.median(out['rate']):.0f} "
        f"suggestions_ms={ms(out['top'])} suggestions_cpu_ms={ms(out['top_cpu'])} "
        f"uncertain_ms={ms(out['near'])} uncertain_cpu_ms={ms(out['near_cpu'])} load={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
