"""`mediasight reindex`: rebuild the derived search index from the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator

from rich.console import Console
from rich.progress import Progress

from catalog.domain.model import Stage
from catalog.domain.ports import IndexDocument
from mediasight.bootstrap import Services

PAGE = 500


async def rebuild(services: Services, console: Console, *, tenant_id: str | None = None) -> int:
    """Replace the index (one tenant's part of it) by the documents of the catalog's indexed assets, through
    the index's bulk rebuild: the embedded index serves its old state until the new one is complete (and
    keeps it if the rebuild stops half-way). Safe to run again; returns the documents written."""
    with Progress(console=console) as progress:
        task = progress.add_task("reindexing", total=None)

        async def batches() -> AsyncIterator[list[IndexDocument]]:
            after = None
            while assets := await services.catalog.list_assets(tenant_id, after=after, limit=PAGE):
                # Unfinished assets are indexed by the worker when they reach that step.
                indexed = [a for a in assets if a.status == Stage.INDEXED]
                yield await services.pipeline.expected_documents(indexed)
                progress.update(task, advance=len(assets))
                after = assets[-1].id

        return await services.index.rebuild(batches(), tenant_id=tenant_id)
