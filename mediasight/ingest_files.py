"""`mediasight ingest`: walk files and folders, register each file, optionally wait for the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from catalog.domain.model import Stage
from catalog.domain.ports import Signal
from indexer.worker import Worker
from mediasight.bootstrap import Services
from mediasight.shared_cli import many
from services.ingest import IngestOutcome

FINISHED = (Stage.INDEXED, Stage.FAILED)
ASK_WINDOW = 100  # assets asked about per count of `ingest --wait` (one query; see _wait_for)


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    outcome: IngestOutcome

    def as_json(self) -> str:
        asset = self.outcome.asset
        row: dict[str, object] = {
            "path": str(self.path),
            "assetId": asset.id if asset else None,
            "status": self.outcome.status,
            "error": self.outcome.error,
        }
        if self.outcome.status == "duplicate" and asset is not None:
            # the asset these bytes already are, under the name it was first registered with
            row["duplicateOf"] = {"assetId": asset.id, "filename": asset.filename}
        return json.dumps(row)


# What file managers and tools leave in folders: no one's photos, so not refused one by one.
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SYSTEM_FILES


def walk(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named directly, and every file below named folders (sorted, symlinked folders not followed),
    except hidden files and folders (.DS_Store, .git, ._photo.jpg) and Thumbs.db / desktop.ini in them."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _hidden(d))
                for name in sorted(files):
                    if not _hidden(name):
                        yield Path(root) / name
        else:
            yield path


def sidecar_of(path: Path) -> Path | None:
    """The .xmp sidecar beside a file, as darktable/digiKam (photo.jpg.xmp) or Adobe tools (photo.xmp)
    name it; None when there is none (or the file is itself a sidecar)."""
    if path.suffix.lower() == ".xmp":
        return None
    for candidate in (
        path.with_name(path.name + ".xmp"),
        path.with_name(path.name + ".XMP"),
        path.with_suffix(".xmp"),
        path.with_suffix(".XMP"),
    ):
        if candidate.is_file():
            return candidate
    return None


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def spinner(console: Console) -> Progress:
    """For work whose size is not known as it runs: a spinner, what it does, the time taken (no '0/?')."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def _read(path: Path) -> bytes | IngestOutcome:
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        return IngestOutcome("rejected", error=f"cannot read file: {exc.strerror or exc}", code="unreadable")


async def ingest_paths(
    services: Services, tenant_id: str, paths: Sequence[Path], *, as_json: bool, wait: bool, console: Console
) -> list[FileOutcome]:
    found = list(walk(paths))
    sidecars = {s for f in found if (s := sidecar_of(f)) is not None}
    files = [f for f in found if f not in sidecars]  # a sidecar goes in with its file
    results: list[FileOutcome] = []
    stop = asyncio.Event()
    # With --wait this process helps: a worker here shares the queue (leases) with any running server.
    helper = services.worker() if wait else None
    worker = asyncio.create_task(helper.run(stop)) if helper is not None else None
    follow: asyncio.Task[None] | None = None
    try:
        with progress_bar(console) as progress:
            task = progress.add_task("ingesting", total=len(files))
            all_in = Signal()  # fired when every file has its outcome: ask at once, not at the next poll
            if helper is not None:  # from the start: ingest waits for the analysis on long runs
                enriching = progress.add_task("enriching", total=0)
                follow = asyncio.create_task(
                    _wait_for(services, helper, tenant_id, len(files), results, progress, enriching, all_in)
                )
            sem = asyncio.Semaphore(services.settings.cpu_threads * 2)

            async def one(path: Path) -> None:
                async with sem:
                    side = sidecar_of(path)
                    sidecar = await _read(side) if side is not None else None
                    if isinstance(sidecar, IngestOutcome):
                        outcome = sidecar  # the sidecar could not be read: nothing half-ingested
                    else:  # from the file: a video streams to storage, never whole in memory
                        outcome = await services.ingestor.ingest_file(
                            tenant_id, path, path.name, sidecar=sidecar
                        )
                result = FileOutcome(path, outcome)
                results.append(result)
                if as_json:
                    sys.stdout.write(result.as_json() + "\n")
                    sys.stdout.flush()
                progress.advance(task)

            await asyncio.gather(*(one(p) for p in files))
            all_in.fire()
            if follow is not None:
                await follow
    finally:
        if follow is not None and not follow.done():  # an ingest failed: stop following
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow
        stop.set()
        if worker is not None:
            await worker
    return results


async def _wait_for(
    services: Services,
    worker: Worker,
    tenant_id: str,
    files: int,
    results: list[FileOutcome],
    progress: Progress,
    task: TaskID,
    all_in: Signal,
) -> None:
    """Until each of the files has its outcome in `results` and every asset they made is finished; the
    bar's total is the assets made so far (a duplicate or a refused file makes none).

    Each count asks about the ASK_WINDOW oldest assets not yet seen finished: the worker takes them about
    in that order, so its cost stays one query however large the run (asking about all of them took ~0.35 s
    CPU each time at 100,000 files, and one consistent read per asset on DynamoDB). An asset finished out of
    order beyond the window is counted once the window reaches it."""
    made: set[str] = set()  # a set: two files with the same bytes are one asset
    unfinished: dict[str, None] = {}  # oldest first
    outcomes_seen = 0

    async def all_finished() -> bool:
        nonlocal outcomes_seen
        ingest_over = len(results) >= files  # before asking: the outcomes are all in
        for r in results[outcomes_seen:]:
            if r.outcome.asset is not None and r.outcome.asset.id not in made:
                made.add(r.outcome.asset.id)
                unfinished[r.outcome.asset.id] = None
        outcomes_seen = len(results)
        window = list(itertools.islice(unfinished, ASK_WINDOW))
        stages = await services.catalog.stages_of(tenant_id, window) if window else {}
        for asset_id in window:
            if stages.get(asset_id, Stage.INDEXED) in FINISHED:  # deleted meanwhile: nothing to wait for
                del unfinished[asset_id]
        progress.update(task, total=len(made), completed=len(made) - len(unfinished))
        return ingest_over and not unfinished

    await worker.until(all_finished, poll_seconds=1.0, min_interval=0.2, wake=all_in)


async def summarize(
    services: Services, tenant_id: str, results: list[FileOutcome], console: Console, *, listed: bool
) -> int:
    """Print the summary (to `console`: stdout, or stderr when --json owns stdout); with `listed`, a line
    per file too. Exit status 1 if any file was rejected or any asset failed."""
    counts = Counter(r.outcome.status for r in results)
    if listed:
        for r in sorted(results, key=lambda r: str(r.path)):
            asset = r.outcome.asset
            if r.outcome.status == "new" and asset is not None:
                console.print(f"  new        {asset.id}  {escape(str(r.path))}")
            elif r.outcome.status == "duplicate" and asset is not None:
                # the same file ingested again (a resumed run) is already in; another name is a copy
                why = (
                    "already in"
                    if asset.filename == r.path.name
                    else f"the same bytes as {escape(asset.filename)!r}"
                )
                console.print(f"  duplicate  {asset.id}  {escape(str(r.path))} ({why})")
    for r in results:
        if r.outcome.status == "rejected":
            console.print(f"  [red]rejected[/] {escape(str(r.path))}: {escape(r.outcome.error or '')}")
    ids = [r.outcome.asset.id for r in results if r.outcome.asset is not None]
    assets = await services.catalog.get_assets(tenant_id, ids)
    failed = [a for a in assets.values() if a.status == Stage.FAILED]
    for asset in failed:
        console.print(f"  [red]failed[/] {escape(asset.filename)} ({asset.id}): {escape(asset.error or '')}")
    console.print(
        f"{many(len(results), 'file')}: [green]{counts['new']} new[/], {counts['duplicate']} duplicate, "
        f"[red]{counts['rejected']} rejected[/]" + (f", [red]{len(failed)} failed[/]" if failed else "")
    )
    unfinished = sum(1 for a in assets.values() if a.status not in FINISHED)
    if unfinished:
        console.print(
            f"{unfinished} assets are queued; `mediasight serve` or `mediasight worker` on this data dir "
            "processes them (or pass --wait)."
        )
    return 1 if counts["rejected"] or failed else 0
