"""Browser sessions: an API key typed into the sign-in form becomes a server-signed, HttpOnly cookie.

The cookie holds the key's digest (what the catalog stores, never the key) and an expiry, signed with the
data dir's secret; each request looks the key up again, so revoking the key ends its sessions at once. A
second, readable cookie carries a CSRF token bound to the session: pages echo it in `X-CSRF-Token` on every
POST, which another site can neither read nor forge.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.auth import AuthError
from catalog.domain.model import ApiKey
from catalog.domain.ports import CatalogStore

SESSION_COOKIE = "mediasight_session"
CSRF_COOKIE = "mediasight_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600

Mac = Callable[[str, str], str]  # (purpose, payload) -> hex MAC with the data dir's secret


class CsrfError(Exception):
    pass


@dataclass(frozen=True)
class Session:
    cookie: str  # the signed session cookie's value
    csrf: str  # the token the pages must echo
    expires: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    def __init__(self, mac: Mac, *, ttl_seconds: int = SESSION_SECONDS) -> None:
        self._mac = mac
        self._ttl = ttl_seconds

    def open(self, key: ApiKey, now: float | None = None) -> Session:
        expires = int((time.time() if now is None else now) + self._ttl)
        body = _b64(json.dumps({"k": key.key_hash, "x": expires, "n": secrets.token_hex(8)}).encode())
        cookie = f"{body}.{self._mac('session', body)}"
        return Session(cookie=cookie, csrf=self._csrf(cookie), expires=expires)

    def _csrf(self, cookie: str) -> str:
        return self._mac("csrf", cookie)

    def _digest(self, cookie: str, now: float | None) -> str:
        body, _, mac = cookie.partition(".")
        if not body or not hmac.compare_digest(self._mac("session", body), mac):
            raise AuthError("invalid session: sign in again")
        try:
            payload = json.loads(_unb64(body))
            digest, expires = str(payload["k"]), int(payload["x"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthError("invalid session: sign in again") from exc
        if expires < (time.time() if now is None else now):
            raise AuthError("your session expired: sign in again")
        return digest

    async def key(self, catalog: CatalogStore, cookie: str, now: float | None = None) -> ApiKey:
        """The live key behind a session cookie; AuthError when forged, expired, or the key was revoked."""
        digest = self._digest(cookie, now)
        found = await catalog.find_api_key(digest)
        if found is None or found.revoked_at is not None:
            raise AuthError("the key of this session was revoked: sign in with a live key")
        return found

    def check_csrf(self, cookie: str, token: str | None) -> None:
        if not token or not hmac.compare_digest(self._csrf(cookie), token):
            raise CsrfError(
                "missing or wrong X-CSRF-Token header: a request authenticated by the session cookie must "
                "echo the mediasight_csrf cookie in it (API clients send `Authorization: Bearer <key>`)"
            )
