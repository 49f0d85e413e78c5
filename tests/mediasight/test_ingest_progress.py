"""`ingest --wait`'s progress: the analysis is followed from the start, not once every file is in."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress, Task

import mediasight.ingest_files as ingest_files
from catalog.domain.model import Stage
from mediasight.bootstrap import Services
from services.ingest import IngestOutcome
from tests.conftest import jpeg_bytes, make_tenant


async def test_the_enriching_bar_counts_while_files_are_still_being_ingested(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        (folder / f"p{i}.jpg").write_bytes(jpeg_bytes((60 * i, 90, 200), (96, 64)))
    (folder / "copy.jpg").write_bytes((folder / "p0.jpg").read_bytes())  # a duplicate makes no asset
    bars: list[Progress] = []

    def progress_bar(console: Console) -> Progress:
        bars.append(Progress(console=console))
        return bars[-1]

    monkeypatch.setattr(ingest_files, "progress_bar", progress_bar)
    real_ingest, seen = services.ingestor.ingest_file, []

    async def ingest_file(tenant_id: str, path: Path, filename: str, **kw: object) -> IngestOutcome:
        if path.name == "p3.jpg":  # the last file comes in only once earlier ones are analysed
            async with asyncio.timeout(20):
                # never true if the bar were added after the last file (no event to wait on: a poll)
                while not _finished(bars):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            enriching = _enriching(bars)
            assert enriching is not None
            seen.append((enriching.completed, enriching.total))
        return await real_ingest(tenant_id, path, filename, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(services.ingestor, "ingest_file", ingest_file)
    real_stages_of, asked = services.catalog.stages_of, []

    async def stages_of(tenant_id: str, asset_ids: Sequence[str]) -> dict[str, Stage]:
        stages = await real_stages_of(tenant_id, asset_ids)
        asked.append((set(asset_ids), stages))
        return stages

    monkeypatch.setattr(services.catalog, "stages_of", stages_of)
    monkeypatch.setattr(ingest_files, "ASK_WINDOW", 2)  # fewer than the 4 assets
    results = await ingest_files.ingest_paths(
        services, tenant, [folder], as_json=False, wait=True, console=Console(quiet=True)
    )
    assert sorted(r.outcome.status for r in results) == ["duplicate", "new", "new", "new", "new"]
    completed, total = seen[0]
    assert 1 <= completed <= total <= 3  # counted while p3 was not in yet
    enriching = _enriching(bars)
    assert enriching is not None and enriching.completed == enriching.total == 4  # the duplicate counts once
    assets = await services.catalog.get_assets(
        tenant, [r.outcome.asset.id for r in results if r.outcome.asset]
    )
    assert {a.status for a in assets.values()} == {Stage.INDEXED}
    # each ask is about at most ASK_WINDOW assets not yet seen finished: one query however large the run
    seen_finished: set[str] = set()
    for ids, stages in asked:
        assert len(ids) <= 2 and not ids & seen_finished
        seen_finished |= {i for i, stage in stages.items() if stage == Stage.INDEXED}
    assert seen_finished == set(assets)


def _enriching(bars: list[Progress]) -> Task | None:
    return next((t for t in bars[0].tasks if t.description == "enriching"), None) if bars else None


def _finished(bars: list[Progress]) -> bool:
    enriching = _enriching(bars)
    return enriching is not None and enriching.completed >= 1
