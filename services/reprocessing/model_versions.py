"""Which model made each of a tenant's current results across the archive, against the models this server
runs now (`mediasight outdated`, modelVersions): what reprocess(outdated) runs again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from catalog.domain.model import Stage
from catalog.domain.model_census import AnalyzerCensus, ModelRef, add_page, census_of
from catalog.domain.ports import CatalogStore
from catalog.domain.video.findings import VIDEO
from indexer.analyzers import AnalyzerChoice
from indexer.video.video_pipeline import is_video
from services.reprocessing.requests import ReprocessError
from services.reprocessing.server_models import ServerModels

CENSUS_PAGE = 500  # assets per page of ModelVersions' walk over the archive


class ModelVersions:
    """The walk reads a page of assets at a time (CENSUS_PAGE: one asset listing and one current_models
    read per page, or two when it has videos, no findings), so memory stays flat at any archive size; its
    time is linear in the archive: on SQLite two indexed queries per page, on DynamoDB one Query of asset
    items and one BatchGetItem per 100 (asset, analyzer) pairs."""

    def __init__(
        self,
        catalog: CatalogStore,
        server: ServerModels,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
    ) -> None:
        self._catalog = catalog
        self._server = server
        self._choose = choose

    async def server_models(self, tenant_id: str, analyzers: Sequence[str] = ()) -> dict[str, ModelRef]:
        """The model this server runs now for each of `analyzers` (any image analyzer, the embedding, an
        active concept), or for what the tenant's archive holds (ServerModels.judged), with the tenant's
        providers; plus the video analysis's (model_census.VIDEO)."""
        self._server.check(analyzers)
        tenant = await self._choose(tenant_id)
        names = analyzers or await self._server.judged(tenant_id, tenant)
        server = await self._server.of(tenant_id, AnalyzerChoice(tuple(names), tenant.providers))
        if missing := [n for n in names if n not in server]:  # check() let only concepts through
            raise ReprocessError(
                "UNKNOWN_ANALYZER", f"{missing}: no activated concept of that name in your tenant"
            )
        return server

    async def pages(
        self, tenant_id: str, analyzers: Sequence[str]
    ) -> AsyncIterator[dict[str, dict[str, ModelRef]]]:
        """The archive's indexed assets (a video's keyframes go with their video), a page at a time, each
        with its current runs' models of `analyzers` (a video's with its shot models; none: an empty
        dict). VIDEO is read for videos only."""
        images = [a for a in analyzers if a != VIDEO]
        after = None
        while assets := await self._catalog.list_assets(tenant_id, after=after, limit=CENSUS_PAGE):
            after = assets[-1].id
            indexed = [a for a in assets if a.status == Stage.INDEXED and not a.is_keyframe]
            models: dict[str, dict[str, ModelRef]] = {}
            for names, ids in (
                (images, [a.id for a in indexed if not is_video(a)]),
                (analyzers, [a.id for a in indexed if is_video(a)]),
            ):
                if ids:
                    models.update(await self._catalog.current_models(tenant_id, ids, names))
            if indexed:
                yield {a.id: models.get(a.id, {}) for a in indexed}

    async def census(self, tenant_id: str, analyzers: Sequence[str] = ()) -> list[AnalyzerCensus]:
        """Per judged name (the tenant's, or `analyzers`): the server's model, how many assets' current runs
        it made, and how many each other model made."""
        server = await self.server_models(tenant_id, analyzers)
        tally = census_of(server)
        async for page in self.pages(tenant_id, list(server)):
            add_page(tally, page, server)
        return list(tally.values())
