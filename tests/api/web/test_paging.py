"""Paging through results in Chromium: 60 thumbnails a page, the next page appended by keyset cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from api.app import create_app
from api.context import Context
from api.schema import schema
from mediasight.bootstrap import build
from mediasight.settings import Settings
from tests.api.web.conftest import open_tab, screenshot, serving, sign_in
from tests.conftest import make_tenant
from tests.e2e.photos import write_photo

pytestmark = pytest.mark.browser
PHOTOS = 65  # one full page of 60 and a second page of 5


@pytest.fixture(scope="module")
async def archive(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str, list[str]]]:
    """(base URL, key, asset IDs in the API's order): real photos, labelled by the real local model."""
    root = tmp_path_factory.mktemp("paging")
    services = build(Settings(data_dir=root / "data", analyzers="labels", semantic_search=False))
    tenant, key = await make_tenant(services, "acme")
    for i in range(PHOTOS):
        path = write_photo(root / f"cat-{i:02}.jpg", "chelsea", size=(200, 150), seed=i)
        assert (await services.ingestor.ingest(tenant, path.read_bytes(), path.name)).asset
    await services.worker().run_until_idle()
    result = await schema.execute(
        "{ search(first: 100) { totalCount edges { node { id } } } }",
        context_value=Context(services, tenant),
    )
    assert result.data is not None and result.data["search"]["totalCount"] == PHOTOS
    order = [e["node"]["id"] for e in result.data["search"]["edges"]]
    async with serving(create_app(services)) as base:
        yield base, key, order
    services.close()


async def test_page_through_results(archive: tuple[str, str, list[str]], chromium: Browser) -> None:
    base, key, order = archive
    async with open_tab(chromium) as tab:
        page = tab.page
        await sign_in(page, base, key)
        await expect(page.locator(".total")).to_have_text(f"{PHOTOS} assets")
        await expect(page.locator(".hit")).to_have_count(60)
        await page.get_by_role("button", name="Load more").click()
        await expect(page.locator(".hit")).to_have_count(PHOTOS)
        shown = await page.locator(".hit").evaluate_all("els => els.map(e => e.dataset.assetId)")
        assert shown == order  # every asset once, in the API's order across both pages
        await expect(page.get_by_role("button", name="Load more")).to_have_count(0)
        await screenshot(page, "search-paged")
        tab.guard.check()


async def test_back_from_a_hit_returns_to_the_hits_loaded_and_the_place(
    archive: tuple[str, str, list[str]], chromium: Browser
) -> None:
    base, key, order = archive
    async with open_tab(chromium, height=700) as tab:
        page = tab.page
        await sign_in(page, base, key)
        await expect(page.locator(".hit")).to_have_count(60)
        await page.locator(".hit").nth(59).scroll_into_view_if_needed()  # infinite scroll loads the rest
        await expect(page.locator(".hit")).to_have_count(PHOTOS)
        last = page.locator(f'.hit[data-asset-id="{order[-1]}"]')
        await last.scroll_into_view_if_needed()
        scrolled = await page.evaluate("() => window.scrollY")
        assert scrolled > 0
        await last.get_by_role("link").first.click()
        await page.wait_for_url(f"**/assets/{order[-1]}")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert await page.evaluate("() => window.scrollY") == 0  # the asset page starts at its top
        # Before: Back showed the first 60 hits from the top, the one opened gone from the page.
        await page.go_back()
        await expect(page.locator(".hit")).to_have_count(PHOTOS)
        await expect(last).to_be_in_viewport()
        assert await page.evaluate("() => window.scrollY") == pytest.approx(scrolled, abs=2)
        await screenshot(page, "search-back-restored")
        tab.guard.check()
