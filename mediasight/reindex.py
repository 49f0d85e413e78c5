"""`mediasight reindex`: rebuild the derived search index from the catalog."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from catalog.model import Stage
from mediasight.bootstrap import Services

PAGE = 500


async def rebuild(services: Services, console: Console) -> int:
    """Clear the index and index every indexed asset again; safe to run twice (upserts are idempotent)."""
    await services.index.clear()
    count, after = 0, None
    with Progress(console=console) as progress:
        task = progress.add_task("reindexing", total=None)
        while True:
            assets = await services.catalog.list_assets(None, after=after, limit=PAGE)
            if not assets:
                return count
            for asset in assets:
                # Unfinished assets are indexed by the worker when they reach that step.
                if asset.status == Stage.INDEXED:
                    await services.pipeline.reindex(asset)
                    count += 1
            progress.update(task, advance=len(assets))
            after = assets[-1].id
