"""The asset page's "From the file" section in Chromium: what a photo's own IPTC/XMP/EXIF said (written by
exiftool, read at ingest by the embedded analyzer), a photo that said nothing, and metadata that could not
be read. No request may leave 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.web.conftest import screenshot, signed_in
from tests.e2e.photos import write_photo
from tests.fakes import ColorLabeler
from tests.indexer.metadata.exiftool import exiftool_write, tagged_astronaut

pytestmark = pytest.mark.browser

# Long enough to wrap several times in the column; a caption must not run past it.
CAPTION = (
    "Eileen Collins before the STS-93 mission, the first space shuttle mission commanded by a woman, "
    "which carried the Chandra X-ray Observatory into orbit; photographed at the Johnson Space Center "
    "in Houston a week before the launch from the Kennedy Space Center"
)


def embedded_services(settings: Settings, **more: object) -> Services:
    return build(settings.model_copy(update={"analyzers": "labels,embedded", **more}), labeler=ColorLabeler())


async def ingested(services: Services, tenant: str, path: Path) -> str:
    outcome = await services.ingestor.ingest(tenant, await asyncio.to_thread(path.read_bytes), path.name)
    assert outcome.asset is not None, outcome.error
    await services.worker().run_until_idle()
    return outcome.asset.id


async def tenant_of(services: Services) -> str:
    tenant = await services.catalog.get_tenant_by_name("acme")  # signed_in made it
    assert tenant is not None
    return tenant.id


@pytest.fixture
async def meta_services(settings: Settings) -> AsyncIterator[Services]:
    services = embedded_services(settings)
    yield services
    services.close()


def from_file(page: Page) -> Locator:
    return page.get_by_role("region", name="From the file")


def value(page: Page, term: str) -> Locator:
    """The <dd> beside the <dt> `term` in the section."""
    rows = from_file(page).locator("dl > div")
    return rows.filter(has=page.locator("dt", has_text=re.compile(f"^{term}$"))).locator("dd")


async def test_the_asset_page_shows_what_the_file_says(
    chromium: Browser, meta_services: Services, tmp_path: Path
) -> None:
    services = meta_services
    photo = tagged_astronaut(tmp_path / "astronaut.jpg")
    exiftool_write(photo, f"-XMP-dc:Description={CAPTION}", f"-IPTC:Caption-Abstract={CAPTION}")
    plain = write_photo(tmp_path / "coffee.jpg", "coffee")
    async with signed_in(chromium, services) as (base, tab):
        tenant = await tenant_of(services)
        tagged, untagged = await ingested(services, tenant, photo), await ingested(services, tenant, plain)
        page = tab.page
        await page.goto(f"{base}/assets/{tagged}")
        section = from_file(page)
        # None of this showed anywhere on the page before
        await expect(section.get_by_role("heading", name="From the file")).to_be_visible()
        await expect(value(page, "Title")).to_have_text("Astronaut portrait")
        await expect(value(page, "Caption")).to_have_text(CAPTION)
        await expect(value(page, "Keywords")).to_have_text("astronaut, spaceflight")
        paths = value(page, "Keyword paths").locator(".line")
        await expect(paths).to_contain_text(["People › Astronauts › Eileen Collins", "Places › Houston"])
        await expect(value(page, "Creator")).to_have_text("NASA photographer")
        await expect(value(page, "Copyright")).to_have_text("Public domain")
        await expect(value(page, "Usage terms")).to_have_text("Free for editorial use")
        await expect(value(page, "GPS")).to_have_text("29.55000, -95.09000")
        await expect(value(page, "Persons shown")).to_have_text("Eileen Collins")
        await expect(value(page, "Regions")).to_contain_text("Eileen Collins (human, IPTC): 25 % × 30 %")
        await expect(section.get_by_text("Read from")).to_contain_text("XMP")
        # The caption wraps inside the section
        caption, box = await value(page, "Caption").bounding_box(), await section.bounding_box()
        assert caption is not None and box is not None
        assert caption["x"] + caption["width"] <= box["x"] + box["width"] + 1 and caption["height"] > 30
        await screenshot(page, "asset-from-file")
        await page.set_viewport_size({"width": 390, "height": 844})
        caption, box = await value(page, "Caption").bounding_box(), await section.bounding_box()
        assert (
            caption is not None
            and box is not None
            and caption["x"] + caption["width"] <= box["x"] + box["width"] + 1
        )
        await screenshot(page, "phone-asset-from-file")

        await page.goto(f"{base}/assets/{untagged}")
        await expect(from_file(page)).to_contain_text("No metadata in the file.")
        await expect(from_file(page).locator("dl")).to_have_count(0)
        tab.guard.check()


async def test_metadata_that_could_not_be_read_is_said_so(
    chromium: Browser, settings: Settings, tmp_path: Path
) -> None:
    services = embedded_services(settings, metadata_timeout_seconds=0.000_001)
    try:
        async with signed_in(chromium, services) as (base, tab):
            asset = await ingested(services, await tenant_of(services), tagged_astronaut(tmp_path / "a.jpg"))
            await tab.page.goto(f"{base}/assets/{asset}")
            note = from_file(tab.page).get_by_role("note")
            await expect(note).to_contain_text("The file's metadata could not be read")
            await expect(from_file(tab.page)).not_to_contain_text("No metadata in the file.")
            await screenshot(tab.page, "asset-from-file-problem")
            tab.guard.check()
    finally:
        services.close()
