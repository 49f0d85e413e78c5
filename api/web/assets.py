"""The built front end (api/web/ui/dist, made by `make install`): the page shell and static files."""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

DIST = Path(__file__).parent / "ui" / "dist"
NOT_BUILT = (
    "Mediasight's pages are not built: run `make install` (needs Node 20 and npm) in the source tree, "
    "then restart `mediasight serve`. The GraphQL API works without them."
)

# Pages run only this server's own scripts and styles, talk only to it, and cannot be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # rendition URLs carry signatures: never send them elsewhere
    "X-Frame-Options": "DENY",
}


def page(html: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@functools.cache
def built(name: str) -> str:
    """A built file's text, read once (FileNotFoundError, not cached, until `make install` built it)."""
    return (DIST / name).read_text()


def shell() -> Response:
    """The single-page shell every page path answers with (its script renders the page)."""
    try:
        return page(built("index.html"))
    except FileNotFoundError:
        return page(f"<!doctype html><title>Mediasight</title><p>{NOT_BUILT}</p>", 503)


class Static:
    """/static: content-hashed bundles are cached for good; GraphiQL's copied files revalidate."""

    def __init__(self) -> None:
        self._files = StaticFiles(directory=DIST, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        hashed = "/graphiql/" not in path and "-" in path.rsplit("/", 1)[-1]
        cache = "public, max-age=31536000, immutable" if hashed else "no-cache"

        async def send_with_headers(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                headers += [(b"cache-control", cache.encode()), (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        if not DIST.is_dir():
            await Response(NOT_BUILT, 503, media_type="text/plain")(scope, receive, send)
            return
        await self._files(scope, receive, send_with_headers)  # type: ignore[arg-type]
