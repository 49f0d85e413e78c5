"""GraphiQL works air-gapped: its scripts and styles come from this server, and a query runs from it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from api.app import create_app
from mediasight.bootstrap import Services
from tests.api.web.conftest import open_tab, screenshot, serving, signed_in
from tests.conftest import make_tenant

pytestmark = pytest.mark.browser


async def test_graphiql_renders_and_runs_a_query_with_every_outside_request_blocked(
    chromium: Browser, services: Services
) -> None:
    async with signed_in(chromium, services) as (base, tab):  # GraphiQL runs queries with the session cookie
        page = tab.page
        await page.goto(f"{base}/graphql?q=" + "%7B%20viewer%20%7B%20tenant%20scopes%20%7D%20%7D")
        await expect(page.locator(".graphiql-container")).to_be_visible(timeout=15_000)
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        await expect(page.locator(".result-window")).to_contain_text('"tenant": "acme"', timeout=15_000)
        await expect(page.locator(".result-window")).not_to_contain_text("search")  # ran the shared query
        await screenshot(page, "graphiql")
        # the query it starts with runs, and asks why each hit scored
        await page.goto(f"{base}/graphql")
        await expect(page.locator(".graphiql-query-editor")).to_contain_text(
            "matches { label via } textMatch meaning"
        )
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        await expect(page.locator(".result-window")).to_contain_text('"totalCount": 0', timeout=15_000)
        tab.guard.check()


async def test_a_key_typed_into_graphiql_stays_in_memory(chromium: Browser, services: Services) -> None:
    """Signed out, a user types their key into GraphiQL's headers: the query runs with it, and neither the
    headers editor nor the query history (GraphiQL's own storage) puts it in the browser's storage."""
    _, key = await make_tenant(services, "acme")
    async with serving(create_app(services)) as base, open_tab(chromium) as tab:
        page = tab.page
        await page.goto(f"{base}/graphql?q=" + "%7B%20viewer%20%7B%20tenant%20%7D%20%7D")
        await expect(page.locator(".graphiql-container")).to_be_visible(timeout=15_000)
        await page.get_by_text("Headers", exact=True).click()
        await page.locator(".graphiql-editor-tool .graphiql-editor").last.click()
        await page.keyboard.insert_text('{"Authorization": "Bearer ' + key + '"}')
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        await expect(page.locator(".result-window")).to_contain_text('"tenant": "acme"', timeout=15_000)
        stored = await page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
        assert key not in stored and key[:12] not in stored
        await page.reload()
        await expect(page.locator(".graphiql-container")).to_be_visible(timeout=15_000)
        await page.get_by_text("Headers", exact=True).click()
        assert key[:12] not in await page.locator(".graphiql-editor-tool").inner_text()
        tab.guard.check(allow_console=("401 (Unauthorized)",))  # the schema, asked for without the key


async def test_graphiql_on_a_phone_runs_a_query_and_leads_back_to_the_app(
    chromium: Browser, services: Services
) -> None:
    async with signed_in(chromium, services) as (base, tab):
        page = tab.page
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(
            f"{base}/graphiql?q=" + "%7B%20viewer%20%7B%20tenant%20%7D%20%7D"
        )  # as people type it
        await expect(page.locator(".graphiql-container")).to_be_visible(timeout=15_000)
        await screenshot(page, "graphiql-phone")
        # Before: no way back but the browser's; the editors and the result squeezed side by side.
        back = page.get_by_role("link", name="Back to Mediasight")
        await expect(back).to_be_visible()
        for part in (".graphiql-query-editor", ".result-window"):
            box = await page.locator(part).bounding_box()
            assert box is not None and box["width"] >= 300, (part, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, (part, box)
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        await expect(page.locator(".result-window")).to_contain_text('"tenant": "acme"', timeout=15_000)
        await expect(page.locator(".result-window")).to_be_in_viewport()
        await screenshot(page, "graphiql-phone-result")
        await back.click()
        await page.wait_for_url(f"{base}/")
        await expect(page.get_by_role("search")).to_be_visible()
        tab.guard.check()
