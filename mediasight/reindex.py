"""`mediasight reindex`: rebuild the derived search index from the catalog."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.progress import Progress

from catalog.model import Asset, Stage
from indexer.pipeline import to_index_document
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
            # Unfinished assets are indexed by the worker when they reach that step.
            by_tenant: dict[str, list[Asset]] = defaultdict(list)
            for asset in assets:
                if asset.status == Stage.INDEXED:
                    by_tenant[asset.tenant_id].append(asset)
            for tenant_id, group in by_tenant.items():
                labels = await services.catalog.get_labels(tenant_id, [a.id for a in group])
                for asset in group:
                    await services.index.upsert(to_index_document(asset, labels.get(asset.id, ())))
                count += len(group)
            progress.update(task, advance=len(assets))
            after = assets[-1].id
