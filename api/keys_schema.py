"""Admin API for a tenant's keys: list, create (shown once), rotate, revoke."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from api.auth import IsAdmin
from api.context import Context
from catalog.domain import model
from services import keys


@strawberry.enum
class KeyScope(enum.Enum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    REVIEW = "review"


@strawberry.type(description="A key's record; the secret itself is never stored or shown again.")
class ApiKey:
    id: strawberry.ID
    name: str
    scopes: list[KeyScope]
    created_at: datetime
    revoked_at: datetime | None

    @staticmethod
    def from_domain(key: model.ApiKey) -> ApiKey:
        return ApiKey(
            id=strawberry.ID(key.id),
            name=key.name,
            scopes=[KeyScope(s.value) for s in key.scopes],
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type
class IssuedKey:
    secret: str | None = strawberry.field(description="The new key: shown this once, store it now.")
    api_key: ApiKey | None
    error: str | None


@strawberry.type
class KeyQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="Your tenant's keys (admin scope).")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        found = await info.context.services.catalog.list_api_keys(info.context.tenant_id)
        return [ApiKey.from_domain(k) for k in found]


@strawberry.type
class KeyMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Issue a key with these scopes.")
    async def create_api_key(
        self, info: Info[Context, None], scopes: list[KeyScope], name: str = ""
    ) -> IssuedKey:
        if not scopes or len(name) > 200:
            return IssuedKey(
                secret=None, api_key=None, error="give at least one scope and a name of ≤200 characters"
            )
        secret, key = await keys.issue_key(
            info.context.services.catalog,
            info.context.tenant_id,
            [model.Scope(s.value) for s in scopes],
            name,
        )
        return IssuedKey(secret=secret, api_key=ApiKey.from_domain(key), error=None)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Replace a key; the old one stops at once."
    )
    async def rotate_api_key(self, info: Info[Context, None], id: strawberry.ID) -> IssuedKey:
        issued = await keys.rotate_key(info.context.services.catalog, info.context.tenant_id, str(id))
        if issued is None:
            return IssuedKey(secret=None, api_key=None, error=f"no live key {id} in your tenant")
        return IssuedKey(secret=issued[0], api_key=ApiKey.from_domain(issued[1]), error=None)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Revoke a key; it fails from the next request."
    )
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.services.catalog.revoke_api_key(info.context.tenant_id, str(id))
