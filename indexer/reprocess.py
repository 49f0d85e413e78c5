"""Reprocessing as tracked batches: validate what to run, record the batch, enqueue one job per asset.

A batch's jobs go through the same durable queue and workers as ingest (leases, retries, provider token
buckets). A job's kind carries the batch ID, so two batches over the same asset are two jobs; each item
is counted done or failed exactly once (finish_batch_item is conditional), so retries cannot inflate
the progress.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from catalog.ids import uuid7
from catalog.model import ReprocessBatch
from catalog.ports import CatalogStore, JobQueue, SearchIndex, SearchQuery
from catalog.run_ports import BatchItemState
from catalog.sqlite_db import utcnow
from indexer.analyzers import IMAGE_ANALYZERS, AnalyzerChoice, AnalyzerRegistry, UnknownAnalyzerError

log = logging.getLogger(__name__)

_KIND_PREFIX = "reprocess:"
MAX_BATCH_ASSETS = 1_000_000
# An unenqueued batch this old lost its creator: recovery finishes it. Generous, because on SQS (no
# dedupe) a creator still enqueueing a huge batch would otherwise see its jobs doubled.
_STALE_BATCH = timedelta(minutes=15)

Scalar = float | int | str | bool


def reprocess_kind(batch_id: str) -> str:
    return _KIND_PREFIX + batch_id


def batch_of(kind: str) -> str | None:
    """The batch ID of a reprocessing job's kind, else None."""
    return kind[len(_KIND_PREFIX) :] if kind.startswith(_KIND_PREFIX) else None


class ReprocessError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # UNKNOWN_ANALYZER | UNKNOWN_PARAMETER | INVALID_PARAMETER | NO_ASSETS | ...


def batch_choice(tenant: AnalyzerChoice, batch: ReprocessBatch) -> AnalyzerChoice:
    """The tenant's analyzers and providers, narrowed and overridden by the batch."""
    names = batch.analyzers or tenant.analyzers
    providers = {n: batch.provider or tenant.provider_of(n) for n in names}
    return AnalyzerChoice(tuple(n for n in IMAGE_ANALYZERS if n in names), providers)


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


class ReprocessService:
    def __init__(
        self,
        catalog: CatalogStore,
        queue: JobQueue,
        analyzers: AnalyzerRegistry,
        choose: Callable[[str], Awaitable[AnalyzerChoice]],
    ) -> None:
        self._catalog = catalog
        self._queue = queue
        self._analyzers = analyzers
        self._choose = choose

    async def _validated(self, tenant_id: str, request: ReprocessRequest) -> ReprocessBatch:
        unknown = [a for a in request.analyzers if a not in IMAGE_ANALYZERS]
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
            chosen = {n: self._analyzers.get(n, choice.provider_of(n)) for n in choice.analyzers}
        except UnknownAnalyzerError as exc:
            raise ReprocessError("UNKNOWN_PROVIDER", str(exc)) from exc
        settings = {n: dict(a.defaults) for n, a in chosen.items()}
        params = resolve_parameters(settings, request.parameters or {})
        return dataclasses.replace(draft, parameters=params)

    async def start(
        self, tenant_id: str, asset_ids: Sequence[str], request: ReprocessRequest
    ) -> ReprocessBatch:
        """Validate, record the batch with one pending item per asset, and enqueue its jobs."""
        batch = await self._validated(tenant_id, request)
        ids = list(dict.fromkeys(asset_ids))
        if not ids:
            raise ReprocessError("NO_ASSETS", "no assets match: pass assetIds or a filter that matches")
        if len(ids) > MAX_BATCH_ASSETS:
            raise ReprocessError("TOO_MANY_ASSETS", f"at most {MAX_BATCH_ASSETS} assets per batch")
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            found.update(await self._catalog.get_assets(tenant_id, ids[start : start + 500]))
        missing = [a for a in ids if a not in found]
        if missing:
            raise ReprocessError("NOT_FOUND", f"no such asset(s) in your tenant: {', '.join(missing[:10])}")
        batch = dataclasses.replace(batch, total=len(ids))
        await self._catalog.create_batch(batch, ids)
        await enqueue_pending(self._catalog, self._queue, batch)
        log.info("reprocess batch %s: %d assets, analyzers %s", batch.id, len(ids), batch.analyzers or "all")
        return dataclasses.replace(batch, enqueued=True)


async def matching_assets(index: SearchIndex, tenant_id: str, query: SearchQuery) -> list[str]:
    """Every asset of the tenant's index that matches, page by page, up to one batch's size."""
    query = dataclasses.replace(query, first=100, after=None)
    ids: list[str] = []
    while len(ids) <= MAX_BATCH_ASSETS:
        page = await index.search(tenant_id, query)
        ids += [h.asset_id for h in page.hits]
        if not page.has_next:
            break
        query = dataclasses.replace(query, after=page.end_cursor)
    return ids


async def enqueue_pending(catalog: CatalogStore, queue: JobQueue, batch: ReprocessBatch) -> int:
    """Enqueue a job for every pending item of the batch, then mark it enqueued (resumable)."""
    count, after = 0, None
    while page := await catalog.batch_items(
        batch.tenant_id, batch.id, BatchItemState.PENDING, after=after, limit=500
    ):
        for asset_id in page:
            await queue.enqueue(reprocess_kind(batch.id), batch.tenant_id, asset_id, background=True)
        count += len(page)
        after = page[-1]
    await catalog.set_batch_enqueued(batch.tenant_id, batch.id)
    return count


async def recover_batches(catalog: CatalogStore, queue: JobQueue) -> int:
    """Finish enqueueing batches whose creator stopped midway (a crash between record and enqueue)."""
    count = 0
    for batch in await catalog.unenqueued_batches():
        if utcnow() - batch.created_at >= _STALE_BATCH:
            log.warning("resuming the enqueueing of reprocess batch %s", batch.id)
            count += await enqueue_pending(catalog, queue, batch)
    return count
