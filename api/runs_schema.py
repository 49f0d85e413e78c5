"""Reprocessing, change reports and the change feed: the run-history part of the schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import Info

from api.auth import CanRead, CanWrite
from api.context import Context
from api.report_types import (
    AnalyzerModels,
    ChangeConnection,
    ChangeEdge,
    ChangeOrder,
    ChangeReport,
    ReprocessBatch,
    ReprocessErrorCode,
    ReprocessPayload,
    ReprocessProblem,
)
from api.search_input import SearchFilter, SearchSort, listed_stages, search_spec
from api.search_types import PageInfo
from api.types import Asset
from catalog.domain.change_report import build_report
from catalog.domain.cursor import CursorError, decode_cursor, encode_cursor
from catalog.domain.ids import is_uuid
from catalog.domain.ports import SearchQuery
from services.reprocessing.batches import INLINE_ASSETS, MAX_FILTER_IDS
from services.reprocessing.preparation import MAX_BATCH_ASSETS
from services.reprocessing.requests import ReprocessError, ReprocessRequest
from services.search_query import MAX_PAGE, InvalidSearch

MAX_FEED_PAGE = 100


async def _query(ctx: Context, filter: SearchFilter) -> SearchQuery:
    """The search a filter batch resolves in the background (GraphQLError, InvalidSearch: the filter is
    invalid)."""
    if listed_stages(filter) is not None:
        raise GraphQLError(
            "reprocess works on INDEXED assets: leave status out of the filter (or use [INDEXED])"
        )
    spec = search_spec(None, filter, SearchSort.CREATED, MAX_PAGE, None)
    return await ctx.services.queries.selection(ctx.tenant_id, spec)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@strawberry.type
class RunQuery:
    @strawberry.field(permission_classes=[CanRead], description="A reprocessing batch and its progress.")
    async def reprocess_batch(self, info: Info[Context, None], id: strawberry.ID) -> ReprocessBatch | None:
        ctx = info.context
        found = await ctx.services.catalog.get_batch(ctx.tenant_id, str(id)) if is_uuid(id) else None
        return ReprocessBatch.from_domain(found) if found else None

    @strawberry.field(permission_classes=[CanRead], description="Your reprocessing batches, newest first.")
    async def reprocess_batches(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="At most 100.")] = 20,
    ) -> list[ReprocessBatch]:
        ctx = info.context
        found = await ctx.services.catalog.list_batches(ctx.tenant_id, limit=max(1, min(first, 100)))
        return [ReprocessBatch.from_domain(b) for b in found]

    @strawberry.field(
        permission_classes=[CanRead],
        description="What a reprocessing batch changed: each asset's batch run against the run it replaced.",
    )
    async def batch_report(self, info: Info[Context, None], batch_id: strawberry.ID) -> ChangeReport | None:
        ctx = info.context
        if (
            not is_uuid(batch_id)
            or await ctx.services.catalog.get_batch(ctx.tenant_id, str(batch_id)) is None
        ):
            return None
        records = await ctx.services.catalog.change_records(ctx.tenant_id, batch_id=str(batch_id))
        return ChangeReport.from_domain(build_report(records))

    @strawberry.field(
        permission_classes=[CanRead],
        description="What changed where an analyzer's current run moved from one model version to another.",
    )
    async def model_change_report(
        self, info: Info[Context, None], analyzer: str, from_version: str, to_version: str
    ) -> ChangeReport:
        if from_version == to_version:
            raise GraphQLError(
                "fromVersion and toVersion are the same: name two versions (Asset.runs shows them)",
                extensions={"code": "SAME_VERSION"},
            )
        ctx = info.context
        records = await ctx.services.catalog.change_records(
            ctx.tenant_id, analyzer=analyzer, from_version=from_version, to_version=to_version
        )
        return ChangeReport.from_domain(build_report(records))

    @strawberry.field(
        permission_classes=[CanRead],
        description="Assets whose current metadata changed at or after `since`, oldest change first: poll it "
        "with the last endCursor to stay in sync. An asset that changes again moves to the end. "
        "order: NEWEST_FIRST gives the latest changes first, paged back in time down to `since`.",
    )
    async def changes(
        self,
        info: Info[Context, None],
        since: datetime,
        first: Annotated[int, strawberry.argument(description=f"At most {MAX_FEED_PAGE}.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of a previous page in the same order.")
        ] = None,
        order: ChangeOrder = ChangeOrder.OLDEST_FIRST,
    ) -> ChangeConnection:
        if not 1 <= first <= MAX_FEED_PAGE:
            raise GraphQLError(
                f"`first` must be between 1 and {MAX_FEED_PAGE}; page with `after: endCursor`.",
                extensions={"code": "BAD_PAGE_SIZE"},
            )
        position = None
        if after:
            try:
                key, asset_id = decode_cursor(after)
                position = (_aware(datetime.fromisoformat(str(key))), asset_id)
            except (CursorError, ValueError) as exc:
                raise GraphQLError(
                    "invalid cursor: pass the endCursor of a previous changes page",
                    extensions={"code": "BAD_CURSOR"},
                ) from exc
        ctx = info.context
        found = await ctx.services.catalog.changed_assets(
            ctx.tenant_id,
            _aware(since),
            after=position,
            limit=first + 1,
            newest_first=order is ChangeOrder.NEWEST_FIRST,
        )
        page = found[:first]
        assets = await ctx.assets.load_many([c.asset_id for c in page])
        edges = [
            ChangeEdge(
                cursor=encode_cursor(c.changed_at.isoformat(), c.asset_id),
                changed_at=c.changed_at,
                asset_id=strawberry.ID(c.asset_id),
                deleted=c.deleted or asset is None,
                node=Asset.from_domain(asset) if asset is not None else None,
            )
            for c, asset in zip(page, assets, strict=True)
        ]
        end = encode_cursor(page[-1].changed_at.isoformat(), page[-1].asset_id) if page else after
        return ChangeConnection(
            edges=edges, page_info=PageInfo(has_next_page=len(found) > first, end_cursor=end)
        )

    @strawberry.field(
        permission_classes=[CanRead],
        description="Per analyzer (yours, your embedding and active concepts; or those named): the model "
        "this server runs now, and how many of your indexed assets' current runs it made and each other "
        "model made (a video's shots count under labels, objects, text, moderation). After an upgrade, "
        "`outdated` > 0 says reprocess(outdated: true) has work. An embedding made from an older meaning "
        "text (new glosses) is no model's age: `mediasight verify --repair` embeds it again. Reads every "
        "indexed asset's current runs (their models, not their findings): its time grows with the archive. "
        "Errors: UNKNOWN_ANALYZER, UNKNOWN_PROVIDER.",
    )
    async def model_versions(
        self,
        info: Info[Context, None],
        analyzers: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Image analyzers, `embedding`, `concept:<name>`. Default: the tenant's "
                "analyzers, its embedding and its active concepts."
            ),
        ] = None,
    ) -> list[AnalyzerModels]:
        ctx = info.context
        try:
            census = await ctx.services.model_versions.census(ctx.tenant_id, tuple(analyzers or ()))
        except ReprocessError as exc:
            raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc
        return [AnalyzerModels.from_domain(c) for c in census]


@strawberry.type
class RunMutation:
    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Run analyzers again over assets (by ID, by filter, or both: the assets in both) with "
        "another provider or parameters, as a tracked batch. Each asset gets new immutable runs; its current "
        "metadata becomes the newest. Parameters use the analyzers' setting names, e.g. "
        '{"min_confidence": 80} or {"labels.max_labels": 5}. Analyzers, provider, parameters, the filter '
        f"and assetIds are checked before it returns. Up to {INLINE_ASSETS} assetIds without a filter are "
        "queued at once: the batch comes back RUNNING. A filter, or more assetIds, comes back PREPARING: a "
        "worker then resolves the filter against your index as it is at that time, records the assets "
        "(reprocessBatch.total is known from then on) and queues them; a filter that matches no asset, or "
        f"more than {MAX_BATCH_ASSETS}, ends the batch FAILED with its error. With outdated: true, only "
        "the assets (of the filter and assetIds; neither: every indexed asset) whose current run of a "
        "chosen analyzer an older model made than this server runs now (modelVersions); it comes back "
        "PREPARING.",
    )
    async def reprocess(
        self,
        info: Info[Context, None],
        asset_ids: list[strawberry.ID] | None = None,
        filter: Annotated[
            SearchFilter | None,
            strawberry.argument(
                description="{} selects every indexed asset. Resolved against the index when the batch is "
                f"prepared, not at this request. With assetIds (at most {MAX_FILTER_IDS}): those it matches."
            ),
        ] = None,
        analyzers: Annotated[
            list[str] | None, strawberry.argument(description="Default: the tenant's analyzers.")
        ] = None,
        provider: Annotated[str | None, strawberry.argument(description="local or rekognition.")] = None,
        parameters: JSON | None = None,
        outdated: Annotated[
            bool,
            strawberry.argument(
                description="Only assets an older model made a current run of (modelVersions.outdated), "
                "and on each only the chosen analyzers (default: your tenant's, its embedding and active "
                "concepts) whose current run an older model made (a video whose shots older models read "
                "analyses them again). NO_ASSETS if the server's version of one is not known yet."
            ),
        ] = False,
    ) -> ReprocessPayload:
        ctx = info.context

        def problem(code: ReprocessErrorCode, message: str) -> ReprocessPayload:
            return ReprocessPayload(batch=None, error=ReprocessProblem(code=code, message=message))

        if asset_ids is None and filter is None and not outdated:
            return problem(
                ReprocessErrorCode.NO_ASSETS,
                "pass assetIds, a filter ({} for every asset), both, or outdated: true",
            )
        if parameters is not None and not isinstance(parameters, dict):
            return problem(
                ReprocessErrorCode.INVALID_PARAMETER, 'parameters must be an object: {"key": value}'
            )
        ids = [str(i) for i in asset_ids] if asset_ids is not None else None
        query = None
        if filter is not None:
            try:
                query = await _query(ctx, filter)
            except (GraphQLError, InvalidSearch) as exc:
                return problem(ReprocessErrorCode.INVALID_FILTER, str(exc))
            if ids is not None:  # IDs that are not IDs match nothing
                ids = [i for i in ids if is_uuid(i)]
        unknown = [i for i in ids or [] if not is_uuid(i)]
        if unknown:
            return problem(
                ReprocessErrorCode.NOT_FOUND, f"no such asset(s) in your tenant: {', '.join(unknown[:10])}"
            )
        request = ReprocessRequest(
            analyzers=tuple(analyzers or ()), provider=provider, parameters=parameters, outdated=outdated
        )
        try:
            batch = await ctx.services.reprocess.start(ctx.tenant_id, ids, request, query=query)
        except ReprocessError as exc:
            return problem(ReprocessErrorCode(exc.code), str(exc))
        return ReprocessPayload(batch=ReprocessBatch.from_domain(batch), error=None)
