"""A data dir for CLI tests: tenant acme with plain-colour JPEGs indexed by a fake labeler."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from indexer.recognizers.ports import LabelModel
from mediasight.bootstrap import build
from mediasight.settings import Settings
from tests.conftest import jpeg_bytes


def indexed_colors(
    settings: Settings, labeler: LabelModel, files: Sequence[tuple[str, tuple[int, int, int]]]
) -> list[str]:
    """Create tenant acme, ingest each (filename, colour) and index it; the asset IDs in that order."""

    async def setup() -> list[str]:
        services = build(settings, labeler=labeler)
        try:
            tenant = await services.catalog.create_tenant("acme")
            ids = []
            for name, color in files:
                outcome = await services.ingestor.ingest(tenant.id, jpeg_bytes(color), name)
                assert outcome.asset is not None
                ids.append(outcome.asset.id)
            await services.worker().run_until_idle()
            return ids
        finally:
            services.close()

    return asyncio.run(setup())
