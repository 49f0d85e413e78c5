"""Who is asking: the caller key's tenant and scopes, so a page shows only the actions the key may take."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context
from api.keys_schema import KeyScope


@strawberry.type(description="The caller: the tenant its API key (or session) belongs to and what it may do.")
class Viewer:
    tenant: str = strawberry.field(description="The tenant's name.")
    tenant_id: strawberry.ID
    scopes: list[KeyScope] = strawberry.field(description="READ: queries; WRITE: changes; ADMIN: keys.")


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The caller's tenant and scopes (any key may ask; it needs no scope).")
    async def viewer(self, info: Info[Context, None]) -> Viewer:
        ctx = info.context
        tenant = await ctx.services.catalog.get_tenant(ctx.tenant_id)
        return Viewer(
            tenant=tenant.name if tenant else "",
            tenant_id=strawberry.ID(ctx.tenant_id),
            scopes=[KeyScope(s.value) for s in ctx.scopes],
        )
