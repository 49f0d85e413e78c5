"""GraphQL types of reprocessing: batches, change reports, and the change feed."""

from __future__ import annotations

import base64
import enum
from datetime import datetime
from typing import Annotated, cast

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.search_types import PageInfo
from api.types import Asset
from catalog.domain import model, model_census
from catalog.domain.change_report import AssetChange
from catalog.domain.change_report import ChangeReport as DomainReport

MAX_REPORT_PAGE = 100


@strawberry.enum(
    description="PREPARING while its assets are resolved and queued (the counters may already move); "
    "FAILED if that could not be done (see error); then RUNNING until every asset is done or failed."
)
class BatchStatus(enum.Enum):
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"


@strawberry.type(
    description="A tracked reprocessing of a set of assets; its progress counts each asset once."
)
class ReprocessBatch:
    id: strawberry.ID
    status: BatchStatus
    total: int = strawberry.field(description="0 until a filter batch's assets are resolved.")
    done: int
    failed: int
    progress: float = strawberry.field(description="(done + failed) / total, 0–1.")
    error: str | None = strawberry.field(
        description="Why the batch FAILED (e.g. its filter matched nothing)."
    )
    analyzers: list[str] = strawberry.field(description="Empty: the tenant's configured analyzers.")
    provider: str | None = strawberry.field(description="Null: each analyzer's configured provider.")
    parameters: JSON = strawberry.field(description="Per analyzer: the settings this batch overrides.")
    created_at: datetime

    @strawberry.field(description="Assets that could not be reprocessed, and why (in ID order).")
    async def failures(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="At most 100.")] = 20,
    ) -> list[BatchFailure]:
        ctx = info.context
        found = await ctx.services.catalog.batch_failures(
            ctx.tenant_id, str(self.id), limit=max(1, min(first, 100))
        )
        return [BatchFailure(asset_id=strawberry.ID(a), reason=r) for a, r in found]

    @staticmethod
    def from_domain(b: model.ReprocessBatch) -> ReprocessBatch:
        return ReprocessBatch(
            id=strawberry.ID(b.id),
            status=BatchStatus(b.status.value),
            total=b.total,
            done=b.done,
            failed=b.failed,
            progress=round((b.done + b.failed) / b.total, 4) if b.total else float(bool(b.error)),
            error=b.error or None,
            analyzers=list(b.analyzers),
            provider=b.provider,
            parameters=cast(JSON, b.parameters),
            created_at=b.created_at,
        )


@strawberry.type
class BatchFailure:
    asset_id: strawberry.ID
    reason: str


@strawberry.type
class LabelCount:
    name: str
    count: int = strawberry.field(description="Assets that gained (or lost) it.")


@strawberry.type(description="One changed asset: its net change over the runs in the report.")
class ChangedAssetEdge:
    cursor: str
    analyzers: list[str] = strawberry.field(description="Analyzers whose results changed.")
    gained: list[str] = strawberry.field(description="Label and moderation names gained.")
    lost: list[str]
    top_label_before: str | None = strawberry.field(description="The most confident specific label before.")
    top_label_after: str | None
    _asset_id: strawberry.Private[str]

    @strawberry.field(description="Null if the asset was deleted since.")
    async def node(self, info: Info[Context, None]) -> Asset | None:
        found = await info.context.assets.load(self._asset_id)
        return Asset.from_domain(found) if found else None


@strawberry.type
class ChangedAssetConnection:
    edges: list[ChangedAssetEdge]
    page_info: PageInfo
    total_count: int


def _cursor(asset_id: str) -> str:
    return base64.urlsafe_b64encode(asset_id.encode()).decode()


def _after(cursor: str | None) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode() if cursor else ""
    except ValueError as exc:
        raise GraphQLError(
            "invalid cursor: pass the endCursor of a previous changedAssets page",
            extensions={"code": "BAD_CURSOR"},
        ) from exc


def _edge(c: AssetChange) -> ChangedAssetEdge:
    return ChangedAssetEdge(
        cursor=_cursor(c.asset_id),
        analyzers=list(c.analyzers),
        gained=list(c.gained),
        lost=list(c.lost),
        top_label_before=c.top_before,
        top_label_after=c.top_after,
        _asset_id=c.asset_id,
    )


@strawberry.type(description="What a batch (or a model change) changed across your assets.")
class ChangeReport:
    assets_compared: int = strawberry.field(description="Assets with a run in the report.")
    assets_changed: int
    top_label_changed: int = strawberry.field(
        description="Assets whose most confident specific label changed."
    )
    labels_gained: list[LabelCount] = strawberry.field(description="Most often gained first (top 20).")
    labels_lost: list[LabelCount]
    _report: strawberry.Private[DomainReport]

    @staticmethod
    def from_domain(r: DomainReport) -> ChangeReport:
        return ChangeReport(
            assets_compared=r.assets_compared,
            assets_changed=len(r.changed),
            top_label_changed=r.top_label_changed,
            labels_gained=[LabelCount(name=n, count=c) for n, c in r.labels_gained],
            labels_lost=[LabelCount(name=n, count=c) for n, c in r.labels_lost],
            _report=r,
        )

    @strawberry.field(description="The changed assets, in ID order.")
    def changed_assets(
        self,
        first: Annotated[int, strawberry.argument(description=f"At most {MAX_REPORT_PAGE}.")] = 20,
        after: str | None = None,
    ) -> ChangedAssetConnection:
        start = _after(after)
        rest = [c for c in self._report.changed if c.asset_id > start]
        page = rest[: max(1, min(first, MAX_REPORT_PAGE))]
        return ChangedAssetConnection(
            edges=[_edge(c) for c in page],
            page_info=PageInfo(
                has_next_page=len(rest) > len(page), end_cursor=_cursor(page[-1].asset_id) if page else None
            ),
            total_count=len(self._report.changed),
        )


@strawberry.type(
    description="An asset whose current metadata changed at changedAt, or that was deleted then."
)
class ChangeEdge:
    cursor: str
    changed_at: datetime
    asset_id: strawberry.ID
    deleted: bool = strawberry.field(
        description="True: the asset was deleted (node is null); drop your copy."
    )
    node: Asset | None


@strawberry.enum(description="The order of the change feed.")
class ChangeOrder(enum.Enum):
    OLDEST_FIRST = strawberry.enum_value(
        "OLDEST_FIRST", description="Oldest change first: poll with the last endCursor to stay in sync."
    )
    NEWEST_FIRST = strawberry.enum_value(
        "NEWEST_FIRST", description="Latest change first: what changed lately, paged back in time."
    )


@strawberry.type(description="Assets whose current metadata changed, in the order asked.")
class ChangeConnection:
    edges: list[ChangeEdge]
    page_info: PageInfo


@strawberry.enum
class ReprocessErrorCode(enum.Enum):
    UNKNOWN_ANALYZER = "UNKNOWN_ANALYZER"
    UNKNOWN_PROVIDER = "UNKNOWN_PROVIDER"
    UNKNOWN_PARAMETER = "UNKNOWN_PARAMETER"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    NO_ASSETS = "NO_ASSETS"
    TOO_MANY_ASSETS = "TOO_MANY_ASSETS"
    NOT_FOUND = "NOT_FOUND"
    INVALID_FILTER = "INVALID_FILTER"
    KEYFRAME = strawberry.enum_value(
        "KEYFRAME",
        description="An asset is a video's keyframe: it is analysed with its video; reprocess the video.",
    )


@strawberry.type
class ReprocessProblem:
    code: ReprocessErrorCode
    message: str


@strawberry.type
class ReprocessPayload:
    batch: ReprocessBatch | None
    error: ReprocessProblem | None


@strawberry.type(description="The model behind runs: provider, model name and version, as runs record them.")
class ModelVersion:
    provider: str
    model_name: str
    model_version: str
    known: bool = strawberry.field(
        description="False: the provider reports its version only with an answer and none came yet; no run "
        "can be judged older."
    )

    @staticmethod
    def from_domain(m: model_census.ModelRef) -> ModelVersion:
        return ModelVersion(
            provider=m.provider, model_name=m.model_name, model_version=m.model_version, known=m.known
        )


@strawberry.type
class ModelCount:
    model: ModelVersion
    assets: int = strawberry.field(description="Indexed assets whose current run this model made.")


@strawberry.type(
    description="One analyzer over the archive's indexed assets (an image analyzer, `embedding`, or a "
    "`concept:<name>`). A video's results of labels, objects, text and moderation are also in its shots' "
    "analysis: a video counts as outdated there when older models read its shots."
)
class AnalyzerModels:
    analyzer: str
    server: ModelVersion = strawberry.field(description="The model this server runs for it now.")
    shots: ModelVersion | None = strawberry.field(
        description="labels only: the models a video's shots are analysed with (TransNetV2 and the keyframe "
        "labeler); a video whose shots other models analysed counts as outdated in labels."
    )
    current: int = strawberry.field(description="Assets whose current run the server's model made.")
    outdated: int = strawberry.field(
        description="Assets whose current run another model made: reprocess(outdated: true) runs them again."
    )
    older: list[ModelCount] = strawberry.field(description="The other models, most assets first.")

    @staticmethod
    def from_domain(c: model_census.AnalyzerCensus) -> AnalyzerModels:
        older = sorted(c.older.items(), key=lambda kv: (-kv[1], kv[0]))
        return AnalyzerModels(
            analyzer=c.analyzer,
            server=ModelVersion.from_domain(c.server),
            shots=ModelVersion.from_domain(c.shots) if c.shots is not None else None,
            current=c.current,
            outdated=c.outdated,
            older=[ModelCount(model=ModelVersion.from_domain(m), assets=n) for m, n in older],
        )
