"""API-key authentication: every GraphQL request names its tenant through `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac

from catalog.keys import hash_api_key
from catalog.ports import CatalogStore


class AuthError(Exception):
    pass


async def tenant_for_authorization(catalog: CatalogStore, header: str | None) -> str:
    """The tenant ID the header's key belongs to; AuthError with what to do otherwise."""
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
        raise AuthError("invalid or revoked API key")
    return found.tenant_id
