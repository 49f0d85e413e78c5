"""Outdated-runs benchmark: how long `mediasight outdated` (and modelVersions) takes to count, per analyzer,
which model made each asset's current run, on an embedded catalog of a realistic size.

A fresh SQLite catalog gets one tenant of --assets indexed assets, each with a current run of three
analyzers (labels, objects, text; ten labels of findings each, as a run stores them), bulk-inserted in the
catalog's own row format (a share --older of the labels runs made by an older model version), plus one
older run per asset that is history only. Then, timed (wall and this process's CPU): the census of the
three analyzers as ModelVersions walks it (pages of CENSUS_PAGE assets: one asset listing and one
current_models read each), and the check a reprocess(outdated) preparation makes per page of 100 search
hits (current_models of those 100). Last line:
    outdated assets=N census_s=X census_cpu_s=Y us_per_asset=Z older=K check_ms_per_100=W
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from catalog.domain.clock import to_db_time
from catalog.domain.model import Asset, Findings, Label, RecognitionResult, Stage
from catalog.domain.model_census import ModelRef, add_page, census_of
from catalog.domain.video.findings import VIDEO
from catalog.sqlite.catalog import _ASSET_COLUMNS, _asset_row  # bench-only: bulk rows, same schema
from catalog.sqlite.run_rows import RUN_COLUMNS, run_row
from mediasight.bootstrap import build
from mediasight.settings import Settings

CHUNK = 5_000
ANALYZERS = ("labels", "objects", "text")
NOW = {a: ModelRef("local", f"{a}-model", "2") for a in ANALYZERS}
SERVER = {**NOW, VIDEO: ModelRef("local", "shots-model", "2")}  # as a server that analyses videos judges
OLD = ModelRef("local", "labels-model", "1")
LABELS = tuple(Label(f"Label {i}", 90.0 - i, ("Parent",)) for i in range(10))


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def rows_for(
    tenant: str, number: int, older: bool
) -> tuple[tuple[object, ...], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """An asset's row, its runs' rows and its current_runs rows."""
    created = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    asset = Asset(
        id=f"{number:08d}-0000-7000-8000-000000000000", tenant_id=tenant, sha256=f"{number:064x}",
        size_bytes=1, media_type="image/jpeg", width=1, height=1, filename=f"photo {number}.jpg",
        blob_key="x", created_at=created, updated_at=created, status=Stage.INDEXED,
    )  # fmt: skip
    runs, current = [], []
    for k, analyzer in enumerate(ANALYZERS):
        model = OLD if older and analyzer == "labels" else NOW[analyzer]
        finished = created + timedelta(seconds=k + 1)
        run = RecognitionResult(
            id=f"{number:08d}-{k:04d}-7000-8000-000000000001", asset_id=asset.id, analyzer=analyzer,
            provider=model.provider, model_name=model.model_name, model_version=model.model_version,
            findings=Findings(labels=LABELS), created_at=finished, finished_at=finished,
        )  # fmt: skip
        runs.append(run_row(tenant, run))
        current.append((tenant, asset.id, analyzer, run.id, to_db_time(finished)))
    history = RecognitionResult(
        id=f"{number:08d}-0009-7000-8000-000000000001", asset_id=asset.id, analyzer="labels",
        provider="local", model_name="labels-model", model_version="0", findings=Findings(labels=LABELS),
        created_at=created, finished_at=created,
    )  # fmt: skip
    runs.append(run_row(tenant, history))
    return _asset_row(asset), runs, current


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--older", type=float, default=0.3, help="share of labels runs an older model made")
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) the built catalog here")
    args = parser.parse_args()
    tmp = None if args.data_dir else tempfile.TemporaryDirectory(prefix="mediasight-outdated-")
    data_dir = args.data_dir or Path(tmp.name) / "data"  # type: ignore[union-attr]
    services = build(Settings(data_dir=data_dir, semantic_search=False, analyzers="labels"))
    try:
        found = await services.catalog.get_tenant_by_name("bench")
        tenant = found.id if found else (await services.catalog.create_tenant("bench")).id
        if found is None:
            db = services.catalog._db  # type: ignore[attr-defined]  # bench-only: bulk rows, same schema
            t0 = time.perf_counter()
            for start in range(0, args.assets, CHUNK):
                made = [
                    rows_for(tenant, n, n * 7919 % 1000 < args.older * 1000)
                    for n in range(start, min(start + CHUNK, args.assets))
                ]
                assets = [a for a, _, _ in made]
                runs = [r for _, rs, _ in made for r in rs]
                current = [c for _, _, cs in made for c in cs]

                def write(c: object, assets=assets, runs=runs, current=current) -> None:
                    c.executemany(
                        f"INSERT INTO assets ({_ASSET_COLUMNS}) VALUES ({','.join('?' * len(assets[0]))})",
                        assets,
                    )  # type: ignore[attr-defined]
                    c.executemany(
                        f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({','.join('?' * len(runs[0]))})", runs
                    )  # type: ignore[attr-defined]
                    c.executemany("INSERT INTO current_runs VALUES (?, ?, ?, ?, ?)", current)  # type: ignore[attr-defined]

                await db.write(write)
            print(f"built {args.assets} assets in {time.perf_counter() - t0:.0f} s", flush=True)
        size = (data_dir / "catalog.db").stat().st_size / 1e6
        print(f"catalog {size:.0f} MB; {load()}", flush=True)
        for round_ in ("cold", "warm"):
            wall, cpu = time.perf_counter(), time.process_time()
            tally = census_of(SERVER)
            async for page in services.model_versions.pages(tenant, list(SERVER)):
                add_page(tally, page, SERVER)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            counted = {a: (c.current, c.outdated) for a, c in tally.items()}
            print(
                f"  census ({round_}): {wall:.2f} s wall, {cpu:.2f} s CPU; "
                f"(current, older) {json.dumps(counted)}"
            )
        older = tally["labels"].outdated
        ids = [a.id for a in await services.catalog.list_assets(tenant, after=None, limit=100)]
        checks = []
        for _ in range(20):
            t0 = time.perf_counter()
            await services.catalog.current_models(tenant, ids, ANALYZERS)
            checks.append(time.perf_counter() - t0)
        check_ms = sorted(checks)[len(checks) // 2] * 1000
        print(load())
        print(
            f"outdated assets={args.assets} census_s={wall:.3f} census_cpu_s={cpu:.3f} "
            f"us_per_asset={wall / max(args.assets, 1) * 1e6:.1f} older={older} "
            f"check_ms_per_100={check_ms:.2f}"
        )
    finally:
        services.close()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
