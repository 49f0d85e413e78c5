"""Reprocessing as tracked batches: validate what to run, record the batch, queue one job per asset.

A batch's jobs go through the same durable queue and workers as ingest (leases, retries, provider token
buckets). A job's kind carries the batch ID, so two batches over the same asset are two jobs; each item
is counted done or failed exactly once (finish_batch_item is conditional), so retries cannot inflate
the progress. A small batch of asset IDs is queued within the request; a filter, or many IDs, is left to a
background job (services.reprocessing.preparation) and the batch is returned PREPARING.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import concept_of
from catalog.domain.embedded import EMBEDDED
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, BatchStatus, ReprocessBatch
from catalog.domain.model_census import ModelRef
from catalog.domain.ports import CatalogStore, JobQueue, SearchIndex, SearchQuery, UnsupportedSearch
from catalog.domain.run_ports import MAX_SELECTION_BYTES
from indexer.analyzers import IMAGE_ANALYZERS, AnalyzerChoice, AnalyzerRegistry, UnknownAnalyzerError
from services.reprocessing.preparation import (
    MAX_BATCH_ASSETS,
    BatchPreparation,
    encode_selection,
    enqueue_pending,
    queue_preparation,
)
from services.reprocessing.requests import (
    ReprocessError,
    ReprocessRequest,
    batch_choice,
    resolve_parameters,
)
from services.reprocessing.server_models import ServerModels

log = logging.getLogger(__name__)

INLINE_ASSETS = 1_000  # more asset IDs than this: their jobs are queued by a background job
# IDs given with a filter are kept with the filter until it is resolved: bounded (one DynamoDB item; the
# whole selection, the tenant's synonyms included, is bounded by MAX_SELECTION_BYTES).
MAX_FILTER_IDS = 5_000


def _selection(query: SearchQuery, ids: list[str] | None, outdated: Mapping[str, ModelRef] | None) -> str:
    """The batch's encoded selection, refused (a typed error) when it is too large for a batch to keep."""
    selection = encode_selection(query, ids, outdated)
    if len(selection.encode()) <= MAX_SELECTION_BYTES:
        return selection
    limit = f"{MAX_SELECTION_BYTES // 1000} KB"
    if ids and len(encode_selection(query, None, outdated).encode()) <= MAX_SELECTION_BYTES:
        raise ReprocessError(
            "TOO_MANY_ASSETS",
            f"these assetIds with the filter take more than the {limit} a batch keeps: pass fewer assetIds "
            "per batch (split them), or use the filter alone",
        )
    raise ReprocessError(
        "INVALID_FILTER",
        f"the filter, with your tenant's label synonyms, takes more than the {limit} a batch keeps: "
        "name fewer labels, or trim the tenant's synonym groups",
    )


class ReprocessService:
    def __init__(
        self,
        catalog: CatalogStore,
        queue: JobQueue,
        index: SearchIndex,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
        server: ServerModels,
    ) -> None:
        self._catalog = catalog
        self._queue = queue
        self._index = index
        self._analyzers = analyzers
        self._choose = choose
        self._server = server
        self.preparation = BatchPreparation(catalog, index, queue)

    async def _validated(
        self, tenant_id: str, request: ReprocessRequest
    ) -> tuple[ReprocessBatch, dict[str, ModelRef] | None]:
        """The batch to record, and with request.outdated the models whose runs are current."""
        self._server.check(request.analyzers)
        for analyzer in request.analyzers:
            name = concept_of(analyzer)
            concept = None if name is None else await self._catalog.get_concept(tenant_id, name)
            if name is not None and (concept is None or concept.active_version is None):
                raise ReprocessError(
                    "UNKNOWN_ANALYZER", f"{analyzer!r}: no activated concept of that name in your tenant"
                )
        tenant = await self._choose(tenant_id)
        names = request.analyzers
        if request.outdated and not names:  # all an upgrade may leave outdated, named in the batch
            names = await self._server.judged(tenant_id, tenant)
        draft = ReprocessBatch(
            id=uuid7(),
            tenant_id=tenant_id,
            analyzers=tuple(dict.fromkeys(names)),
            provider=request.provider,
            parameters={},
            total=0,
            done=0,
            failed=0,
            created_at=utcnow(),
        )
        choice = batch_choice(tenant, draft)
        if not choice.analyzers:
            raise ReprocessError("UNKNOWN_ANALYZER", "no analyzers to run: name them with analyzers")
        try:
            chosen = {
                n: self._analyzers.get(n, choice.provider_of(n))
                for n in choice.analyzers
                if n in IMAGE_ANALYZERS
            }
        except UnknownAnalyzerError as exc:
            raise ReprocessError("UNKNOWN_PROVIDER", str(exc)) from exc
        settings = {n: dict(a.defaults) for n, a in chosen.items()}
        params = resolve_parameters(settings, request.parameters or {})
        batch = dataclasses.replace(draft, parameters=params)
        if not request.outdated:
            return batch, None
        batch = dataclasses.replace(batch, outdated_only=True)
        current = await self._server.of(tenant_id, choice)
        if unknown := [n for n, m in current.items() if not m.known]:
            raise ReprocessError(
                "NO_ASSETS",
                f"this server learns the model version of {', '.join(unknown)} only from the provider's "
                "answers, and has had none yet: no run can be judged older; name other analyzers",
            )
        return batch, current

    async def start(
        self,
        tenant_id: str,
        asset_ids: Sequence[str] | None,
        request: ReprocessRequest,
        *,
        query: SearchQuery | None = None,
        inline: bool = False,
    ) -> ReprocessBatch:
        """Validate and record a batch over the assets (with a `query`: those it matches, among `asset_ids`
        if given). Up to INLINE_ASSETS IDs, or `inline`, it is prepared here and returned RUNNING (or
        FAILED); otherwise it is returned PREPARING and a background job prepares it."""
        batch, current = await self._validated(tenant_id, request)
        ids = list(dict.fromkeys(asset_ids)) if asset_ids is not None else None
        if current is not None:  # every indexed asset (or those of the IDs, the filter), then the outdated
            return await self._start_filtered(
                batch, query or SearchQuery(), ids, inline=inline, outdated=current
            )
        if query is not None:
            return await self._start_filtered(batch, query, ids, inline=inline)
        if not ids:
            raise ReprocessError("NO_ASSETS", "no assets match: pass assetIds or a filter that matches")
        if len(ids) > MAX_BATCH_ASSETS:
            raise ReprocessError("TOO_MANY_ASSETS", f"at most {MAX_BATCH_ASSETS} assets per batch")
        found: dict[str, Asset] = {}
        for start in range(0, len(ids), 500):
            found.update(await self._catalog.get_assets(tenant_id, ids[start : start + 500]))
        missing = [a for a in ids if a not in found]
        if missing:
            raise ReprocessError("NOT_FOUND", f"no such asset(s) in your tenant: {', '.join(missing[:10])}")
        if frames := [a for a in found.values() if a.is_keyframe]:
            named = "; ".join(f"{f.id} is a keyframe of the video {f.parent_id}" for f in frames[:5])
            raise ReprocessError(
                "KEYFRAME",
                f"{named}: a keyframe is analysed with its video, never alone; reprocess the video",
            )
        batch = dataclasses.replace(batch, total=len(ids))
        await self._catalog.create_batch(batch, ids)
        log.info("reprocess batch %s: %d assets, analyzers %s", batch.id, len(ids), batch.analyzers or "all")
        if inline or len(ids) <= INLINE_ASSETS:
            return await self._prepared(batch)
        await queue_preparation(self._queue, batch)
        return batch

    async def _start_filtered(
        self,
        batch: ReprocessBatch,
        query: SearchQuery,
        ids: list[str] | None,
        *,
        inline: bool,
        outdated: Mapping[str, ModelRef] | None = None,
    ) -> ReprocessBatch:
        if ids is not None and not ids:
            raise ReprocessError("NO_ASSETS", "no assets match: assetIds is empty")
        if ids is not None and len(ids) > MAX_FILTER_IDS:
            raise ReprocessError(
                "TOO_MANY_ASSETS", f"at most {MAX_FILTER_IDS} assetIds together with a filter"
            )
        try:  # one small page: a filter the index refuses is refused now, not in the worker
            await self._index.search(batch.tenant_id, dataclasses.replace(query, first=1, after=None))
        except UnsupportedSearch as exc:
            raise ReprocessError("INVALID_FILTER", str(exc)) from exc
        batch = dataclasses.replace(batch, selection=_selection(query, ids, outdated))
        await self._catalog.create_batch(batch, [])
        log.info("reprocess batch %s: preparing (a filter), analyzers %s", batch.id, batch.analyzers or "all")
        if not inline:
            await queue_preparation(self._queue, batch)
            return batch
        return await self._prepared(batch)

    async def _prepared(self, batch: ReprocessBatch) -> ReprocessBatch:
        """Prepare the batch here (its claim keeps any other preparation away), and return it as it is now."""
        await self.preparation.prepare(batch.tenant_id, batch.id)
        return await self._catalog.get_batch(batch.tenant_id, batch.id) or batch

    async def resume(self, tenant_id: str, batch_id: str) -> ReprocessBatch:
        """Finish preparing the batch here, or queue every pending item again (jobs may have been lost)."""
        batch = await self._catalog.get_batch(tenant_id, batch_id)
        if batch is None:
            raise ReprocessError("NOT_FOUND", f"no batch {batch_id} in this tenant")
        if batch.status is BatchStatus.FAILED:
            raise ReprocessError("FAILED", f"batch {batch_id} failed: {batch.error}")
        if batch.status is BatchStatus.PREPARING:  # nothing if a live preparation has it (a worker's)
            return await self._prepared(batch)
        await enqueue_pending(self._catalog, self._queue, batch)  # idempotent where the queue dedupes
        return await self._catalog.get_batch(tenant_id, batch_id) or batch


async def reread_embedded(reprocess: ReprocessService, tenant_id: str, asset_id: str) -> None:
    """An asset's sidecar changed (the same file ingested again with an edited .xmp): its embedded metadata
    is read again, as a tracked batch of the `embedded` analyzer (its run history shows what changed)."""
    try:
        await reprocess.start(tenant_id, [asset_id], ReprocessRequest(analyzers=(EMBEDDED,)))
    except ReprocessError as exc:  # the tenant does not read embedded metadata: nothing to read again
        log.info("sidecar of %s changed; not read again: %s", asset_id, exc)
