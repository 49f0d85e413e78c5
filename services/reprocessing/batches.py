"""Reprocessing as tracked batches: validate what to run, record the batch, queue one job per asset.

A batch's jobs go through the same durable queue and workers as ingest (leases, retries, provider token
buckets). A job's kind carries the batch ID, so two batches over the same asset are two jobs; each item
is counted done or failed exactly once (finish_batch_item is conditional), so retries cannot inflate
the progress. A small batch of asset IDs is queued within the request; a filter, or many IDs, is left to a
background job (services.batch_preparation) and the batch is returned PREPARING.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import concept_of
from catalog.domain.embedded import EMBEDDED
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, BatchStatus, ReprocessBatch, Stage
from catalog.domain.model_census import AnalyzerCensus, ModelRef, add_page
from catalog.domain.ports import CatalogStore, JobQueue, SearchIndex, SearchQuery, UnsupportedSearch
from catalog.domain.run_ports import MAX_SELECTION_BYTES
from indexer.analyzers import IMAGE_ANALYZERS, AnalyzerChoice, AnalyzerRegistry, UnknownAnalyzerError
from indexer.recognizers.ports import Analyzer
from services.batch_preparation import (
    MAX_BATCH_ASSETS,
    BatchPreparation,
    encode_selection,
    enqueue_pending,
    queue_preparation,
)

log = logging.getLogger(__name__)

INLINE_ASSETS = 1_000  # more asset IDs than this: their jobs are queued by a background job
CENSUS_PAGE = 500  # assets per page of ModelVersions' walk over the archive
# IDs given with a filter are kept with the filter until it is resolved: bounded (one DynamoDB item; the
# whole selection, the tenant's synonyms included, is bounded by MAX_SELECTION_BYTES).
MAX_FILTER_IDS = 5_000

Scalar = float | int | str | bool


class ReprocessError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # UNKNOWN_ANALYZER | UNKNOWN_PARAMETER | ... (ReprocessErrorCode); FAILED: resume


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


def model_of(analyzer: Analyzer) -> ModelRef:
    """The model the analyzer's runs record (catalog.domain.model_census compares them)."""
    return ModelRef(analyzer.provider, analyzer.model_name, analyzer.model_version)


def batch_choice(tenant: AnalyzerChoice, batch: ReprocessBatch) -> AnalyzerChoice:
    """The tenant's analyzers and providers, narrowed and overridden by the batch."""
    names = batch.analyzers or tenant.analyzers
    providers = {n: batch.provider or tenant.provider_of(n) for n in names if concept_of(n) is None}
    concepts = tuple(n for n in names if concept_of(n) is not None)  # scored from stored features
    return AnalyzerChoice((*(n for n in IMAGE_ANALYZERS if n in names), *concepts), providers)


def _coerce(default: Scalar, value: object, name: str) -> Scalar:
    """A parameter value in its default's type (values from the CLI arrive as text)."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, bool):
                return value
            raise ValueError(value)
        if isinstance(default, int) and not isinstance(value, bool):
            number = float(value)  # type: ignore[arg-type]
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if isinstance(default, float) and not isinstance(value, bool):
            return float(value)  # type: ignore[arg-type]
        if isinstance(default, str) and isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise ReprocessError(
        "INVALID_PARAMETER", f"parameter {name!r} needs a {type(default).__name__}, got {value!r}"
    )


def resolve_parameters(
    settings: Mapping[str, Mapping[str, Scalar]], raw: Mapping[str, object]
) -> dict[str, dict[str, object]]:
    """Map user parameters onto the analyzers' settings.

    `min_confidence` applies to every chosen analyzer that has that setting; `labels.min_confidence`
    to one. A key that no chosen analyzer knows is refused with the keys that exist.
    """
    out: dict[str, dict[str, object]] = {}
    for key, value in raw.items():
        analyzer, _, setting = key.rpartition(".")
        targets = [analyzer] if analyzer else [a for a, known in settings.items() if setting in known]
        if analyzer and (analyzer not in settings or setting not in settings[analyzer]):
            targets = []
        if not targets:
            known = sorted(f"{a}.{k}" for a, ks in settings.items() for k in ks)
            raise ReprocessError(
                "UNKNOWN_PARAMETER",
                f"no chosen analyzer has a setting {key!r}; settings: {', '.join(known) or 'none'}",
            )
        for target in targets:
            out.setdefault(target, {})[setting] = _coerce(settings[target][setting], value, key)
    return out


@dataclass(frozen=True)
class ReprocessRequest:
    analyzers: tuple[str, ...] = ()  # empty: the tenant's analyzers
    provider: str | None = None
    parameters: Mapping[str, object] | None = None
    # only assets whose current run of a chosen analyzer an older model made (than the one it would use now)
    outdated: bool = False


class ReprocessService:
    def __init__(
        self,
        catalog: CatalogStore,
        queue: JobQueue,
        index: SearchIndex,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
    ) -> None:
        self._catalog = catalog
        self._queue = queue
        self._index = index
        self._analyzers = analyzers
        self._choose = choose
        self.preparation = BatchPreparation(catalog, index, queue)

    async def _validated(
        self, tenant_id: str, request: ReprocessRequest
    ) -> tuple[ReprocessBatch, dict[str, ModelRef] | None]:
        """The batch to record, and with request.outdated the models whose runs are current."""
        unknown = [a for a in request.analyzers if a not in IMAGE_ANALYZERS and concept_of(a) is None]
        for analyzer in request.analyzers:
            name = concept_of(analyzer)
            concept = None if name is None else await self._catalog.get_concept(tenant_id, name)
            if name is not None and (concept is None or concept.active_version is None):
                raise ReprocessError(
                    "UNKNOWN_ANALYZER", f"{analyzer!r}: no activated concept of that name in your tenant"
                )
        if unknown:
            raise ReprocessError(
                "UNKNOWN_ANALYZER", f"unknown analyzer(s) {unknown}: choose from {', '.join(IMAGE_ANALYZERS)}"
            )
        draft = ReprocessBatch(
            id=uuid7(),
            tenant_id=tenant_id,
            analyzers=tuple(dict.fromkeys(request.analyzers)),
            provider=request.provider,
            parameters={},
            total=0,
            done=0,
            failed=0,
            created_at=utcnow(),
        )
        choice = batch_choice(await self._choose(tenant_id), draft)
        if not choice.analyzers:
            raise ReprocessError("UNKNOWN_ANALYZER", "no analyzers to run: name them with analyzers")
        try:
            chosen = {
                n: self._analyzers.get(n, choice.provider_of(n))
                for n in choice.analyzers
                if concept_of(n) is None
            }
        except UnknownAnalyzerError as exc:
            raise ReprocessError("UNKNOWN_PROVIDER", str(exc)) from exc
        settings = {n: dict(a.defaults) for n, a in chosen.items()}
        params = resolve_parameters(settings, request.parameters or {})
        batch = dataclasses.replace(draft, parameters=params)
        if not request.outdated:
            return batch, None
        if len(chosen) < len(choice.analyzers):
            raise ReprocessError(
                "UNKNOWN_ANALYZER", "a concept has no model versions: reprocess it without outdated"
            )
        batch = dataclasses.replace(batch, outdated_only=True)
        current = {n: model_of(a) for n, a in chosen.items()}
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


class ModelVersions:
    """The tenant's analyzers' models on this server, and which model made each analyzer's current runs
    across the archive (`mediasight outdated`, modelVersions): what reprocess(outdated) runs again.

    The walk reads a page of assets at a time (CENSUS_PAGE: one asset listing and one current_models read
    per page, no findings), so memory stays flat at any archive size; its time is linear in the archive:
    on SQLite two indexed queries per page, on DynamoDB one Query of asset items and one BatchGetItem per
    100 (asset, analyzer) pairs."""

    def __init__(
        self,
        catalog: CatalogStore,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
    ) -> None:
        self._catalog = catalog
        self._analyzers = analyzers
        self._choose = choose

    async def server_models(self, tenant_id: str, analyzers: Sequence[str] = ()) -> dict[str, ModelRef]:
        """The model this server runs now for each of the tenant's analyzers (or of `analyzers`, which may
        name any image analyzer), with the tenant's provider for it. Builds each analyzer once (its model
        loads lazily, on first use, not here)."""
        unknown = [a for a in analyzers if a not in IMAGE_ANALYZERS]
        if unknown:
            raise ReprocessError(
                "UNKNOWN_ANALYZER", f"unknown analyzer(s) {unknown}: choose from {', '.join(IMAGE_ANALYZERS)}"
            )
        choice = await self._choose(tenant_id)
        names = [a for a in IMAGE_ANALYZERS if a in (analyzers or choice.analyzers)]
        out = {}
        for name in names:
            try:
                analyzer = self._analyzers.get(name, choice.provider_of(name))
            except UnknownAnalyzerError as exc:
                raise ReprocessError("UNKNOWN_PROVIDER", str(exc)) from exc
            out[name] = model_of(analyzer)
        return out

    async def pages(
        self, tenant_id: str, analyzers: Sequence[str]
    ) -> AsyncIterator[dict[str, dict[str, ModelRef]]]:
        """The archive's indexed assets (a video's keyframes go with their video), a page at a time, each
        with the model of its current run of each of `analyzers` (an asset without any: an empty dict)."""
        after = None
        while assets := await self._catalog.list_assets(tenant_id, after=after, limit=CENSUS_PAGE):
            after = assets[-1].id
            ids = [a.id for a in assets if a.status == Stage.INDEXED and not a.is_keyframe]
            if ids:
                models = await self._catalog.current_models(tenant_id, ids, analyzers)
                yield {i: models.get(i, {}) for i in ids}

    async def census(self, tenant_id: str, analyzers: Sequence[str] = ()) -> list[AnalyzerCensus]:
        """Per analyzer (the tenant's, or `analyzers`): the server's model, how many assets' current runs it
        made, and how many each other model made."""
        server = await self.server_models(tenant_id, analyzers)
        tally = {name: AnalyzerCensus(name, model) for name, model in server.items()}
        async for page in self.pages(tenant_id, list(server)):
            add_page(tally, page)
        return list(tally.values())


async def reread_embedded(reprocess: ReprocessService, tenant_id: str, asset_id: str) -> None:
    """An asset's sidecar changed (the same file ingested again with an edited .xmp): its embedded metadata
    is read again, as a tracked batch of the `embedded` analyzer (its run history shows what changed)."""
    try:
        await reprocess.start(tenant_id, [asset_id], ReprocessRequest(analyzers=(EMBEDDED,)))
    except ReprocessError as exc:  # the tenant does not read embedded metadata: nothing to read again
        log.info("sidecar of %s changed; not read again: %s", asset_id, exc)
