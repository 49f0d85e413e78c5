"""API-key authentication: every GraphQL request names its tenant through `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from catalog.domain.model import ApiKey, Scope
from catalog.domain.ports import TenantStore
from services.keys import hash_api_key


class AuthError(Exception):
    pass


class UnknownKey(AuthError):
    """A well-formed key this server does not know (or that was revoked)."""


async def key_for_authorization(catalog: TenantStore, header: str | None) -> ApiKey:
    """The live key the header carries (its tenant, its scopes); AuthError with what to do otherwise."""
    if not header:
        raise AuthError(
            "missing API key: send `Authorization: Bearer <key>` "
            "(create one with `mediasight tenant create NAME`)"
        )
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError("malformed Authorization header: expected `Authorization: Bearer <key>`")
    digest = hash_api_key(key.strip())
    found = await catalog.find_api_key(digest)
    # The lookup is by digest; compare again in constant time so timing says nothing about near misses.
    if found is None or not hmac.compare_digest(found.key_hash, digest) or found.revoked_at is not None:
        raise UnknownKey("invalid or revoked API key")
    return found


class RequireScope(BasePermission):
    """A field that needs a scope the caller's key may lack (read, write, admin, review)."""

    scope: Scope

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return self.scope in info.context.scopes

    @property
    def message(self) -> str:  # type: ignore[override]
        return f"this needs an API key with the '{self.scope}' scope (see `mediasight key create --help`)"


class CanRead(RequireScope):
    scope = Scope.READ


class CanWrite(RequireScope):
    scope = Scope.WRITE


class IsAdmin(RequireScope):
    scope = Scope.ADMIN


class CanReview(RequireScope):
    """A reviewer's key: its task queue and answers only (`mediasight reviewer add`)."""

    scope = Scope.REVIEW

    @property
    def message(self) -> str:  # type: ignore[override]
        return "this needs a reviewer's key (scope 'review'): create one with `mediasight reviewer add NAME`"
