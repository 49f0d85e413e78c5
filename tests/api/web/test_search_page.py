"""The search page's feedback in Chromium: a pressed "Taken in" year toggles off, a failed search says so
plainly (no endless "Searching…", no previous results under it), dates in the URL that are not dates are
named and ignored, and focus stays in the page when a filter chip is removed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from api.app import create_app
from mediasight.bootstrap import Services
from tests.api.web.conftest import Tab, open_tab, screenshot, serving, sign_in
from tests.conftest import jpeg_bytes, make_tenant

pytestmark = pytest.mark.browser


@dataclass
class Archive:
    base: str
    key: str
    ids: dict[str, str]  # filename -> asset ID


def taken(year: int) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = f"{year}:05:01 10:00:00"  # DateTimeOriginal
    return exif.tobytes()


@pytest.fixture
async def archive(services: Services) -> AsyncIterator[Archive]:
    tenant, key = await make_tenant(services, "acme")
    ids = {}
    for name, color, year in [("red.jpg", (220, 20, 20), 2019), ("green.jpg", (20, 220, 20), 2021)]:
        outcome = await services.ingestor.ingest(
            tenant, jpeg_bytes(color, (320, 240), exif=taken(year)), name
        )
        assert outcome.asset is not None
        ids[name] = outcome.asset.id
    await services.worker().run_until_idle()
    async with serving(create_app(services)) as base:
        yield Archive(base, key, ids)


@pytest.fixture
async def tab(chromium: Browser) -> AsyncIterator[Tab]:
    async with open_tab(chromium) as t:
        yield t


async def shown(page: Page) -> list[str]:
    await page.locator(".grid[data-ready]").wait_for(state="attached")
    return sorted(await page.locator(".hits .hit").evaluate_all("els => els.map(e => e.dataset.assetId)"))


async def test_a_pressed_year_toggles_off(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key)
    years = page.get_by_role("region", name="Taken in")
    await years.get_by_role("button", name="2019").click()
    await page.wait_for_url("**/?from=2019-01-01&to=2019-12-31")
    assert await shown(page) == [archive.ids["red.jpg"]]
    await expect(years.get_by_role("button", name="2019")).to_have_attribute("aria-pressed", "true")
    # Before: pressing it again applied it again, and the other years stayed hidden.
    await years.get_by_role("button", name="2019").click()
    await page.wait_for_url(f"{archive.base}/")
    assert await shown(page) == sorted(archive.ids.values())
    await expect(years.get_by_role("button")).to_have_count(2)
    tab.guard.check()


async def test_a_failed_search_says_so_without_stale_results(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key)
    assert len(await shown(page)) == 2
    await expect(page.get_by_label("Search the archive")).to_have_attribute("maxlength", "500")
    # A longer query can still come in a link: the page goes there in place, as a back button would.
    await page.evaluate(
        "q => { history.pushState(null, '', '/?q=' + q); dispatchEvent(new PopStateEvent('popstate')); }",
        "a" * 501,
    )
    await expect(page.get_by_role("alert")).to_have_text(
        "Search failed: query is longer than 500 characters."
    )
    await expect(page.locator(".hit")).to_have_count(0)
    await expect(page.get_by_text("Searching…")).to_have_count(0)
    await expect(page.get_by_role("region", name="Results")).to_have_attribute("aria-busy", "false")
    await screenshot(page, "search-failed")
    tab.guard.check()


async def test_dates_in_the_url_that_are_not_dates_are_named_and_ignored(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key)
    for bad in ("notadate", "2024-13-45"):
        await page.goto(f"{archive.base}/?from={bad}")
        # Before: the raw "Variable '$filter' has invalid value at .capturedAfter…", under "Searching…".
        note = f"'{bad}' is not a date (YYYY-MM-DD), so it is ignored."
        await expect(page.get_by_role("status").filter(has_text="not a date")).to_have_text(note)
        assert await shown(page) == sorted(archive.ids.values())
        await expect(page.get_by_role("alert")).to_have_count(0)
        # Before: a chip "taken from 2024-13-45" said the ignored date still applied.
        await expect(page.get_by_role("list", name="Active filters")).to_have_count(0)
        await expect(page.get_by_text(f"taken from {bad}")).to_have_count(0)
    await screenshot(page, "search-bad-date")
    tab.guard.check()


async def test_removing_a_filter_chip_keeps_focus_in_the_filters(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key, "/?label=Red&type=image%2Fjpeg")
    chips = page.get_by_role("list", name="Active filters")
    await chips.get_by_role("button", name="Remove filter label: Red").click()
    await page.wait_for_url("**/?type=image%2Fjpeg")
    # Before: focus fell to <body> with the removed button.
    await expect(chips.get_by_role("button", name="Remove filter type: image/jpeg")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{archive.base}/")
    await expect(page.get_by_label("Search the archive")).to_be_focused()
    tab.guard.check()


async def test_one_slider_movement_is_one_step_back(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key, "/?label=Red")
    slider = page.get_by_label("Minimum label confidence")
    await slider.focus()
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    await page.wait_for_url("**/?label=Red&min=15")
    await expect(page.locator(".grid[data-ready]")).to_be_attached()
    # Before: Back went to min=10, then 5, then 0 (an entry for every step).
    await page.go_back()
    await expect(page).to_have_url(f"{archive.base}/?label=Red")
    await expect(slider).to_have_value("0")
    await screenshot(page, "search-slider-back")
    tab.guard.check()


async def test_a_sort_chosen_after_typing_sorts_what_the_box_says(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key)
    box = page.get_by_label("Search the archive")
    await box.fill("red")  # typed, not submitted
    await page.get_by_label("Sort").select_option(label="Newest taken")
    # Before: the URL became /?sort=CAPTURED and the box emptied.
    await expect(page).to_have_url(f"{archive.base}/?q=red&sort=CAPTURED")
    await expect(box).to_have_value("red")
    assert await shown(page) == [archive.ids["red.jpg"]]
    await screenshot(page, "search-sort-keeps-query")
    tab.guard.check()


async def test_a_pipeline_stage_listing_offers_only_what_applies(archive: Archive, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, archive.base, archive.key, "/?status=FAILED&label=Red")
    # Before: "Nothing found. Try fewer filters or another word.", with sort, slider and filters enabled.
    await expect(page.get_by_text("No failed assets.", exact=True)).to_be_visible()
    await expect(page.get_by_text("Nothing found")).to_have_count(0)
    sort = page.get_by_label("Sort")
    inert = [
        page.get_by_role("button", name="Search", exact=True),
        page.get_by_label("Minimum label confidence"),
        sort,
        page.get_by_label("Labels: guesses too"),
        page.get_by_label("Filter by"),
        page.get_by_role("button", name="Add filter"),
    ]
    for control in inert:
        await expect(control).to_be_disabled()
    await expect(sort.locator("option:checked")).to_have_text("Newest added")  # as the stage lists
    status = page.get_by_role("combobox", name=re.compile(r"^Status"))
    await expect(status).to_be_enabled()
    await screenshot(page, "search-no-failed")
    await page.goto(f"{archive.base}/?status=STORED")
    await expect(page.get_by_text("No assets in progress: stored.", exact=True)).to_be_visible()
    await status.select_option(label="Searchable (indexed)")
    assert len(await shown(page)) == 2
    for control in inert:
        await expect(control).to_be_enabled()
    tab.guard.check()
