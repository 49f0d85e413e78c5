"""Sign-in and sign-out through the pages in Chromium; a read-only key is told it is one."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from api.app import create_app
from catalog.domain.model import Scope
from mediasight.bootstrap import Services
from services.keys import issue_key
from tests.api.web.conftest import open_tab, screenshot, serving, sign_in
from tests.conftest import make_tenant

pytestmark = pytest.mark.browser


async def test_sign_in_then_out_and_a_wrong_key_is_told_what_to_do(
    chromium: Browser, services: Services
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    reader, _ = await issue_key(services.catalog, tenant, [Scope.READ])
    async with serving(create_app(services)) as base, open_tab(chromium) as tab:
        page = tab.page
        await page.goto(f"{base}/overview")
        await page.wait_for_url("**/signin?next=/overview")
        await page.get_by_label("API key").fill("msk_not-a-key")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("not valid")
        await screenshot(page, "signin-wrong-key")
        assert "msk_not-a-key" not in page.url

        await sign_in(page, base, reader, "/overview")
        await expect(page.get_by_role("banner")).to_contain_text("acme (read-only)")
        assert await page.evaluate("() => localStorage.length + sessionStorage.length") == 0
        cookies = {c["name"]: c for c in await tab.context.cookies()}
        assert (
            cookies["mediasight_session"]["httpOnly"]
            and cookies["mediasight_session"]["sameSite"] == "Strict"
        )
        assert reader not in str(cookies)

        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url("**/signin")
        await page.goto(f"{base}/")
        await page.wait_for_url("**/signin?next=/")
        tab.guard.check()
