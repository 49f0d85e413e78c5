"""API keys and signed URLs: keys are random, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from catalog.domain.model import ApiKey, Scope
from catalog.domain.ports import TenantStore

KEY_PREFIX = "msk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # The key carries 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret of this data dir, created once with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


class UrlSigner:
    """HMAC-signed, expiring capability URLs (they work in an <img> tag, which sends no header)."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def mac(self, purpose: str, payload: str) -> str:
        """A full-length MAC for another use of the secret (session cookies...); `purpose` separates uses."""
        return hmac.new(self._secret, f"{purpose}\0{payload}".encode(), hashlib.sha256).hexdigest()

    def sign(self, tenant_id: str, asset_id: str, kind: str, now: float | None = None) -> tuple[int, str]:
        expires = int((now or time.time()) + self._ttl)
        return expires, self._mac(f"{tenant_id}|{asset_id}|{kind}|{expires}")

    def verify(self, tenant_id: str, asset_id: str, kind: str, expires: int, signature: str) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(self._mac(f"{tenant_id}|{asset_id}|{kind}|{expires}"), signature)


async def issue_key(
    catalog: TenantStore, tenant_id: str, scopes: Sequence[Scope], name: str = ""
) -> tuple[str, ApiKey]:
    """A new key: the secret (shown once) and its stored record (digest only)."""
    if not scopes:
        raise ValueError(f"a key needs at least one scope: {', '.join(Scope)}")
    secret = new_api_key()
    return secret, await catalog.add_api_key(
        tenant_id, hash_api_key(secret), tuple(dict.fromkeys(scopes)), name
    )


async def rotate_key(catalog: TenantStore, tenant_id: str, key_id: str) -> tuple[str, ApiKey] | None:
    """Replace a live key by a new one with the same scopes and name; the old one stops at once."""
    old = next(
        (k for k in await catalog.list_api_keys(tenant_id) if k.id == key_id and k.revoked_at is None), None
    )
    if old is None:
        return None
    issued = await issue_key(catalog, tenant_id, old.scopes, old.name)
    await catalog.revoke_api_key(tenant_id, old.id)
    return issued
