"""The frame around every page in Chromium: a server that cannot be reached is said plainly with a Retry
(the navigation stays), unknown and malformed addresses show the app's not-found page, and "Skip to
content" moves focus to the page's main part."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Route, expect

from mediasight.bootstrap import Services
from tests.api.web.conftest import screenshot, signed_in

pytestmark = pytest.mark.browser


async def test_an_unreachable_server_is_said_plainly_and_retry_loads_the_page(
    chromium: Browser, services: Services
) -> None:
    async with signed_in(chromium, services, "/overview") as (_, tab):
        page = tab.page

        async def refuse(route: Route) -> None:
            await route.abort("connectionrefused")

        await page.route("**/graphql", refuse)
        await page.reload()
        await expect(page.get_by_role("heading", name="The page could not be loaded")).to_be_visible()
        # Before: a bare red "Failed to fetch" in place of the whole app, until a full reload.
        await expect(page.get_by_role("alert")).to_have_text(
            "The server could not be reached. Check the connection, then retry."
        )
        await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        await screenshot(page, "server-unreachable")

        await page.unroute("**/graphql", refuse)
        await page.get_by_role("button", name="Retry").click()
        await expect(page.get_by_role("heading", name="Archive overview")).to_be_visible()
        await expect(page.get_by_role("alert")).to_have_count(0)
        tab.guard.check(allow_console=("ERR_CONNECTION_REFUSED",))


async def test_unknown_and_malformed_addresses_show_the_not_found_page(
    chromium: Browser, services: Services
) -> None:
    async with signed_in(chromium, services) as (base, tab):
        page = tab.page
        # Before: a blank page ("URI malformed"), and the server's bare "Not Found" for an unknown path.
        for path in ("/assets/%E0%A4%A", "/nope/page"):
            response = await page.goto(base + path)
            assert response is not None
            await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
            await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
            await expect(page).to_have_title("Not found · Mediasight")
        assert response.status == 404
        await screenshot(page, "not-found")
        tab.guard.check(allow_console=("404",))
        async with httpx.AsyncClient() as client:  # not a browser: the plain 404 as before
            plain = await client.get(f"{base}/nope/page")
        assert (plain.status_code, plain.text) == (404, "Not Found")


async def test_skip_to_content_moves_focus_to_the_main_part(chromium: Browser, services: Services) -> None:
    async with signed_in(chromium, services, "/overview") as (base, tab):
        page = tab.page
        await expect(page.get_by_role("heading", name="Archive overview")).to_be_visible()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        await page.keyboard.press("Enter")
        # Before: the router took the click for a navigation to /#main and focus stayed on the link.
        await expect(page.locator("main")).to_be_focused()
        assert page.url == f"{base}/overview#main"
        tab.guard.check()
