"""Background exports in GraphQL: start one over a search or the whole tenant, follow its progress, fetch the
zip through a signed URL when it is done."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.auth import CanRead
from api.context import Context
from services.export_jobs import MAX_JOB_ASSETS
from services.export_jobs import ExportJob as DomainJob
from services.exports import ExportError

JOB_KIND = "export-job"  # what a result URL's signature covers


@strawberry.enum(description="What a background export holds (in one zip).")
class BackgroundExportFormat(enum.Enum):
    XMP = "xmp"
    JSON = "json"
    ANNOTATIONS = "annotations"
    IMAGE = "image"  # copies of the images with their metadata embedded (never the originals)
    CSV = "csv"


@strawberry.type(description="A background export: its progress, and its zip once done.")
class ExportJob:
    id: strawberry.ID
    format: str
    state: str = strawberry.field(description="queued, running, done or failed.")
    total: int
    done: int
    error: str
    created_at: datetime
    url: str | None = strawberry.field(description="The zip (signed, expires), once done.")

    @staticmethod
    def from_domain(job: DomainJob, ctx: Context) -> ExportJob:
        url = None
        if job.state == "done":
            expires, sig = ctx.services.signer.sign(ctx.tenant_id, job.id, JOB_KIND)
            url = f"{ctx.base_url}/export-jobs/{job.id}?t={ctx.tenant_id}&e={expires}&s={sig}"
        return ExportJob(
            id=strawberry.ID(job.id),
            format=job.format,
            state=job.state,
            total=job.total,
            done=job.done,
            error=job.error,
            created_at=job.created_at,
            url=url,
        )


def _raise(exc: ExportError) -> GraphQLError:
    return GraphQLError(str(exc), extensions={"code": exc.code})


@strawberry.type
class ExportJobQuery:
    @strawberry.field(permission_classes=[CanRead], description="A background export of yours.")
    async def export_job(self, info: Info[Context, None], id: strawberry.ID) -> ExportJob:
        ctx = info.context
        try:
            return ExportJob.from_domain(await ctx.services.export_jobs.get(ctx.tenant_id, str(id)), ctx)
        except ExportError as exc:
            raise _raise(exc) from exc


@strawberry.type
class ExportJobMutation:
    @strawberry.mutation(
        permission_classes=[CanRead],
        description=f"Export every asset a search finds (query and/or labels), or all of yours (neither), "
        f"up to {MAX_JOB_ASSETS:,}, in the background; follow it with exportJob. Errors carry "
        "extensions.code: NO_SUCH_PROFILE, BAD_FORMAT.",
    )
    async def start_export(
        self,
        info: Info[Context, None],
        format: BackgroundExportFormat,
        query: str | None = None,
        labels: list[str] | None = None,
        profile: Annotated[str | None, strawberry.argument(description="An export profile of yours.")] = None,
    ) -> ExportJob:
        ctx = info.context
        try:
            job = await ctx.services.export_jobs.start(
                ctx.tenant_id, format.value, query=query, labels=labels or (), profile=profile
            )
        except ExportError as exc:
            raise _raise(exc) from exc
        return ExportJob.from_domain(job, ctx)
