"""Routes of the pages: the page shell (signed-in pages redirect to /signin), sign-in and sign-out, /static.

Add a page: its path here in PAGES and its component in ui/src/main.tsx's ROUTES.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from api.auth import AuthError, key_for_authorization
from api.request_limits import SmallBody
from api.web.assets import Static, shell
from api.web.session import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, CsrfError, Sessions
from catalog.domain.ports import CatalogStore

PAGES = ("/", "/overview", "/assets/{asset_id}", "/review", "/concepts", "/concepts/{name}")
MAX_KEY_CHARS = 200


class WebServices:
    """What the pages need of the server: the catalog (keys) and the secret's MAC (session cookies)."""

    def __init__(self, catalog: Callable[[], CatalogStore], mac: Callable[[str, str], str]) -> None:
        self._catalog, self._mac = catalog, mac

    @property
    def catalog(self) -> CatalogStore:
        return self._catalog()

    @property
    def sessions(self) -> Sessions:
        return Sessions(self._mac)


def safe_next(target: str | None) -> str:
    """Only a path of this site: `//evil.example` or `https://...` would make sign-in an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def same_origin(request: Request) -> bool:
    """A state-changing form POST must come from this site's own page (login CSRF, forced sign-out)."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") == "same-origin"
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _to_signin(error: str | None, target: str) -> RedirectResponse:
    query = f"?next={quote(target, safe='/')}" + (f"&error={error}" if error else "")
    return RedirectResponse(f"/signin{query}", status_code=303)


def _set_session(response: Response, request: Request, cookie: str, csrf: str, max_age: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
    )
    # Readable by the pages' scripts (they echo it in X-CSRF-Token); useless to anyone without the session.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure, path="/"
    )


async def not_found(request: Request, exc: Exception) -> Response:
    """A browser opening an unknown path gets the app, which shows its own not-found page in the frame."""
    detail = exc.detail if isinstance(exc, HTTPException) else "Not Found"
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        response = shell()
        if response.status_code == 200:
            response.status_code = 404
        return response
    return PlainTextResponse(detail, 404)


def web_routes(web: WebServices) -> list[BaseRoute]:
    async def signed_in_page(request: Request) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not cookie:
            return _to_signin(None, target)
        try:
            await web.sessions.key(web.catalog, cookie)
        except AuthError:
            return _to_signin("expired", target)
        return shell()

    async def signin_page(request: Request) -> Response:
        return shell()

    async def sign_in(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        key, target = form.get("key"), safe_next(str(form.get("next") or "/"))
        if not same_origin(request):
            return _to_signin("origin", target)
        if not isinstance(key, str) or not key.strip():
            return _to_signin("missing", target)
        try:
            found = await key_for_authorization(web.catalog, f"Bearer {key.strip()[:MAX_KEY_CHARS]}")
        except AuthError:
            return _to_signin("invalid", target)
        session = web.sessions.open(found)
        response = RedirectResponse(target, status_code=303)
        _set_session(
            response, request, session.cookie, session.csrf, max_age=session.expires - int(time.time())
        )
        return response

    async def sign_out(request: Request) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not same_origin(request):
            return Response("sign-out must come from this site's pages", 403)
        if cookie:
            try:
                web.sessions.check_csrf(cookie, request.headers.get(CSRF_HEADER))
            except CsrfError as exc:
                return Response(str(exc), 403)
        response = Response(status_code=204)
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", samesite="strict")
        return response

    async def graphiql(request: Request) -> Response:
        """The IDE's usual address leads to it (it lives at /graphql, beside the API it runs)."""
        return RedirectResponse("/graphql" + (f"?{request.url.query}" if request.url.query else ""))

    routes: list[BaseRoute] = [Route(path, signed_in_page) for path in PAGES]
    return [
        *routes,
        Route("/graphiql", graphiql),
        Route("/signin", signin_page),
        Route("/session", SmallBody(sign_in), methods=["POST"]),
        Route("/session/end", SmallBody(sign_out), methods=["POST"]),
        Mount("/static", app=Static()),
    ]
