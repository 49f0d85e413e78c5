"""Browser fixtures: one headless Chromium per test session (Debian's, driven by Playwright), a page whose
every request that leaves 127.0.0.1 fails the test, and the app served by uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    async_playwright,
    expect,
)
from starlette.types import ASGIApp

from mediasight.bootstrap import Services

CHROMIUM = Path("/usr/bin/chromium")
# As /work/.library/env/machines/python.md: without the background-networking flags Chromium keeps
# dialling Google's hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAVE_CHROMIUM = CHROMIUM.exists()
SCREENSHOTS = Path(__file__).parent / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost"}
# Generous waits: two cores shared by several test runs can stretch a render to seconds. A wait that
# runs out is still a failure; only a slow pass no longer fails.
expect.set_options(timeout=20_000)
ACTION_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail("no /usr/bin/chromium: `make test` installs it (apt-get install -y chromium, as root)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@dataclass
class Guard:
    """What a page tried that it must not: requests off loopback, console errors (CSP violations too)."""

    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    async def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            await route.continue_()
        else:
            self.outside.append(url)
            await route.abort("blockedbyclient")

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def check(self, *, allow_console: tuple[str, ...] = ()) -> None:
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        unexpected = [e for e in self.console_errors if not any(a in e for a in allow_console)]
        assert unexpected == [], f"console errors: {unexpected}"


@dataclass
class Tab:
    page: Page
    guard: Guard
    context: BrowserContext


@contextlib.asynccontextmanager
async def open_tab(
    browser: Browser, *, width: int = 1280, height: int = 900, timezone: str | None = None
) -> AsyncIterator[Tab]:
    """A fresh browser context (own cookies; the machine's time zone unless `timezone` is given) whose one
    page may talk to loopback only."""
    context = await browser.new_context(viewport={"width": width, "height": height}, timezone_id=timezone)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    guard = Guard()
    await context.route("**/*", guard.route)
    page = await context.new_page()
    page.on("console", guard.console)
    try:
        yield Tab(page, guard, context)
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """The app on a free loopback port, in this event loop (the browser talks to it over real HTTP)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def working(services: Services) -> AsyncIterator[None]:
    """The indexer worker beside a served app, as `mediasight serve` runs it (jobs that actions queue)."""
    stop = asyncio.Event()
    task = asyncio.create_task(services.worker().run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def sign_in(page: Page, base: str, key: str, path: str = "/") -> None:
    """Through the sign-in form, as a person would."""
    await page.goto(base + path)
    await page.wait_for_url("**/signin**")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base + path)


@contextlib.asynccontextmanager
async def signed_in(chromium: Browser, services: Services, path: str = "/") -> AsyncIterator[tuple[str, Tab]]:
    """(base URL, tab): the app on `services` served, and a tab signed in to a new tenant "acme" at `path`."""
    from api.app import create_app
    from tests.conftest import make_tenant

    _, key = await make_tenant(services, "acme")
    async with serving(create_app(services)) as base, open_tab(chromium) as tab:
        await sign_in(tab.page, base, key, path)
        yield base, tab
