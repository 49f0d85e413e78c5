"""The archive at a glance: how many of the tenant's assets stand in each pipeline stage."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import CanRead
from api.context import Context
from api.types import AssetStatus
from catalog.domain.model import Stage


@strawberry.type(description="How many of your assets are in one pipeline stage.")
class StatusCount:
    status: AssetStatus
    count: int


@strawberry.type
class ArchiveQuery:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Your assets counted by stage, every stage listed (0 included), in pipeline order "
        "(a video's keyframes are part of their video: not counted). List a stage's assets with "
        "`search(filter: {status: [...]})`.",
    )
    async def asset_counts(self, info: Info[Context, None]) -> list[StatusCount]:
        ctx = info.context
        counts = await ctx.services.catalog.stage_counts(ctx.tenant_id)
        return [StatusCount(status=AssetStatus(st.value), count=counts.get(st, 0)) for st in Stage]
