"""`mediasight verify`: find, and with repair fix, drift between the catalog (the truth) and the search index.

Both are walked in asset-ID order, a page of PAGE at a time, each side's next page fetched while the
current one is compared (a merge join): the catalog gives the INDEXED assets with the fingerprint of the
document they should have (`Pipeline.expected_documents`, the path `Pipeline.reindex` writes from), the
index gives the fingerprint stored with each document. Three kinds of drift:

- missing: an INDEXED asset without a document;
- extra: a document whose asset is gone or not INDEXED;
- stale: a document whose fingerprint differs from the one the catalog gives now.

Repair settles each drifted asset against the catalog as it is at that moment (the walk may be seconds
old): an INDEXED asset is reindexed (and embedded again first when its embedding was made from another
meaning text than it has now: after an upgrade that changed what the meaning says), the document of a
gone or FAILED asset is deleted, and an asset in flight (stored, renditions, analyzed) is left to the
worker, which writes its document when it gets there (deleting it now would race the worker); those
count as deferred and keep the exit status at 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from catalog.domain.fingerprint import document_fingerprint
from catalog.domain.metadata import stale_meaning
from catalog.domain.model import Asset, Stage
from mediasight.bootstrap import Services

log = logging.getLogger(__name__)

PAGE = 500
EXAMPLES = 20
REPAIR_BATCH = 64  # drifted assets settled together
REPAIR_CONCURRENCY = 8
IN_FLIGHT = (Stage.STORED, Stage.RENDITIONS, Stage.ANALYZED)

Row = tuple[str, str, str]  # (tenant_id, asset_id, fingerprint)


@dataclass
class Drift:
    count: int = 0
    examples: list[str] = field(default_factory=list)  # asset IDs (globally unique), the first EXAMPLES

    def add(self, asset_id: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(asset_id)


@dataclass
class DriftReport:
    tenant_id: str | None  # None: every tenant
    repair: bool
    assets: int = 0  # INDEXED assets in the catalog
    documents: int = 0  # documents in the index
    missing: Drift = field(default_factory=Drift)
    extra: Drift = field(default_factory=Drift)
    stale: Drift = field(default_factory=Drift)
    repaired: int = 0  # drifted assets the index now agrees on with the catalog
    deferred: int = 0  # in flight: left to the worker
    failed: int = 0  # the repair raised (logged)
    seconds: float = 0.0

    @property
    def drift(self) -> int:
        return self.missing.count + self.extra.count + self.stale.count

    @property
    def remaining(self) -> int:
        """Drift still there when verify ends (all of it without repair)."""
        return self.drift - self.repaired

    def as_json(self) -> dict[str, Any]:
        kinds = {k: {"count": d.count, "examples": d.examples} for k, d in self._kinds()}
        return {
            "tenantId": self.tenant_id,
            "repair": self.repair,
            "assets": self.assets,
            "documents": self.documents,
            **kinds,
            "drift": self.drift,
            "repaired": self.repaired,
            "deferred": self.deferred,
            "failed": self.failed,
            "remaining": self.remaining,
            "seconds": round(self.seconds, 3),
        }

    def _kinds(self) -> list[tuple[str, Drift]]:
        return [("missing", self.missing), ("extra", self.extra), ("stale", self.stale)]

    def summary(self, tenant_name: str | None = None) -> str:
        """A few lines for people; tenant_name names the tenant (its ID is shown otherwise)."""
        scope = f"tenant {tenant_name or self.tenant_id}" if self.tenant_id else "all tenants"
        lines = [
            f"verified {self.assets} indexed assets against {self.documents} index documents "
            f"({scope}) in {self.seconds:.1f}s"
        ]
        for kind, d in self._kinds():
            shown = (
                f": {', '.join(d.examples)}{' ...' if d.count > len(d.examples) else ''}" if d.count else ""
            )
            lines.append(f"  {kind:<8}{d.count}{shown}")
        if self.drift == 0:
            lines.append("no drift: the index agrees with the catalog")
        elif not self.repair:
            lines.append(f"drift in {self.drift} assets: run `mediasight verify --repair` to fix it")
        else:
            lines.append(
                f"repaired {self.repaired} of {self.drift}"
                + (f"; {self.deferred} in flight left to the worker" if self.deferred else "")
                + (f"; {self.failed} failed (see the log)" if self.failed else "")
            )
        return "\n".join(lines)


async def _pages(
    fetch: Callable[[str | None], Awaitable[tuple[list[Row], str | None]]],
) -> AsyncGenerator[Row, None]:
    """Rows of fetch(after) pages; fetch returns (rows, after for the next page, None after the last).
    The next page is requested before this one's rows are handed out: both walks overlap the compare.
    Pages end with an empty one (a short page does not prove the end for every adapter)."""
    task: asyncio.Future[tuple[list[Row], str | None]] = asyncio.ensure_future(fetch(None))
    try:
        while True:
            rows, after = await task
            if after is not None:
                task = asyncio.ensure_future(fetch(after))
            for row in rows:
                yield row
            if after is None:
                return
    finally:  # closed early (an error on the other side): stop the prefetch, and retrieve its outcome
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class _Verifier:
    def __init__(self, services: Services, report: DriftReport, progress: Progress) -> None:
        self._s = services
        self._report = report
        self._progress = progress
        self._task = progress.add_task("verifying", total=None)
        self._pending: list[tuple[str, str]] = []
        self._limit = asyncio.Semaphore(REPAIR_CONCURRENCY)

    async def catalog_page(self, after: str | None) -> tuple[list[Row], str | None]:
        assets = await self._s.catalog.list_assets(self._report.tenant_id, after=after, limit=PAGE)
        indexed = [a for a in assets if a.status == Stage.INDEXED]
        docs = await self._s.pipeline.expected_documents(indexed)
        self._report.assets += len(indexed)
        self._progress.update(self._task, advance=len(assets), description=self._describe())
        rows = [(d.tenant_id, d.asset_id, document_fingerprint(d)) for d in docs]
        return rows, (assets[-1].id if assets else None)

    async def index_page(self, after: str | None) -> tuple[list[Row], str | None]:
        rows = await self._s.index.fingerprints(self._report.tenant_id, after=after, limit=PAGE)
        self._report.documents += len(rows)
        return rows, (rows[-1][1] if rows else None)

    def _describe(self) -> str:
        r = self._report
        return f"verifying: {r.missing.count} missing, {r.extra.count} extra, {r.stale.count} stale"

    async def run(self, repair: bool) -> None:
        async with (
            contextlib.aclosing(_pages(self.catalog_page)) as expected,
            contextlib.aclosing(_pages(self.index_page)) as indexed,
        ):
            want, have = await anext(expected, None), await anext(indexed, None)
            while want is not None or have is not None:
                # Order: asset ID, then tenant (an asset ID is global; a document under another tenant
                # than its asset's is extra, and the asset's own is missing).
                if have is None or (want is not None and (want[1], want[0]) < (have[1], have[0])):
                    assert want is not None
                    await self._found(self._report.missing, want, repair)
                    want = await anext(expected, None)
                elif want is None or (have[1], have[0]) < (want[1], want[0]):
                    await self._found(self._report.extra, have, repair)
                    have = await anext(indexed, None)
                else:
                    if want[2] != have[2]:
                        await self._found(self._report.stale, have, repair)
                    want, have = await anext(expected, None), await anext(indexed, None)
        await self._flush()
        self._progress.update(self._task, description=self._describe())

    async def _found(self, kind: Drift, row: Row, repair: bool) -> None:
        kind.add(row[1])
        if repair:
            self._pending.append((row[0], row[1]))
            if len(self._pending) >= REPAIR_BATCH:
                await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        await asyncio.gather(*(self._settle(t, a) for t, a in batch))

    async def _settle(self, tenant_id: str, asset_id: str) -> None:
        """Make the index agree with the catalog as it is now about this one asset."""
        async with self._limit:
            try:
                asset = await self._s.catalog.get_asset(tenant_id, asset_id)
                if asset is not None and asset.status in IN_FLIGHT:
                    self._report.deferred += 1
                    return
                if asset is not None and asset.status == Stage.INDEXED:
                    if await self._meaning_changed(asset):  # embed the meaning as it reads now
                        await self._s.pipeline.refresh(tenant_id, asset_id)  # ... and reindex
                    else:
                        await self._s.pipeline.reindex(asset)
                else:  # gone, or FAILED: it has no document
                    await self._s.index.delete(tenant_id, asset_id)
                self._report.repaired += 1
            except Exception:
                log.exception("could not repair the index document of %s/%s", tenant_id, asset_id)
                self._report.failed += 1

    async def _meaning_changed(self, asset: Asset) -> bool:
        """Whether the asset's embedding was made from another meaning text than it has now (stale_meaning):
        the document's stored vector is then out of date too, and reindexing alone would keep it."""
        if self._s.embedder is None:
            return False
        results = (await self._s.catalog.get_results(asset.tenant_id, [asset.id])).get(asset.id, {})
        documents = await self._s.pipeline.expected_documents([asset])
        return bool(documents) and stale_meaning(asset, results, documents[0].persons)


async def verify(services: Services, *, tenant_id: str | None, repair: bool, console: Console) -> DriftReport:
    """Compare the index with the catalog (one tenant, or all for None); with repair, fix the drift."""
    report = DriftReport(tenant_id=tenant_id, repair=repair)
    t0 = time.perf_counter()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} assets read"),  # every stage: the summary counts the indexed ones
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        await _Verifier(services, report, progress).run(repair)
    report.seconds = time.perf_counter() - t0
    return report
