"""A write key's actions on the pages (reprocess, a new version, delete) and the overview's failed assets
and batch progress. The labels model is the fake at its port: these test the pages, not recognition."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, Dialog, Page, expect

from api.app import create_app
from catalog.domain.model import Label
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.web.conftest import open_tab, screenshot, serving, sign_in, working
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler

pytestmark = pytest.mark.browser


class RefusesBlack(ColorLabeler):
    """Fails on a black picture, as a model that cannot read an image would."""

    def predict(
        self,
        batch: np.ndarray,
        *,
        min_confidence: float,
        max_labels: int,
        tentative_confidence: float | None = None,
    ) -> list[list[Label]]:
        if any(float(means.sum()) < 30 for means in batch):
            raise ValueError("the model could not read this picture")
        return super().predict(batch, min_confidence=min_confidence, max_labels=max_labels)


@dataclass
class World:
    services: Services
    base: str
    key: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("actions") / "data",
        analyzers="labels",
        semantic_search=False,
        job_retry_base_seconds=0.0,
        job_max_attempts=1,
    )
    services = build(settings, labeler=RefusesBlack())
    tenant, key = await make_tenant(services, "acme")
    ids = {}
    # grey: no channel dominates, so the model finds nothing on it (an indexed asset without labels)
    pictures = [
        ("red.jpg", (220, 20, 20)),
        ("green.jpg", (20, 220, 20)),
        ("black.jpg", (0, 0, 0)),
        ("grey.jpg", (128,) * 3),
    ]
    for name, color in pictures:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color, (320, 240)), name)
        assert outcome.asset is not None
        ids[name] = outcome.asset.id
        await services.worker().run_until_idle()  # one at a time: the model fails a whole batch
    async with serving(create_app(services)) as base, working(services):
        yield World(services, base, key, ids)
    services.close()


async def test_overview_lists_failed_assets_with_their_reason(world: World, chromium: Browser) -> None:
    async with open_tab(chromium) as tab:
        page = tab.page
        await sign_in(page, world.base, world.key, "/overview")
        failed = page.get_by_role("region", name="Failed")
        await expect(failed).to_contain_text("black.jpg")
        await expect(failed).to_contain_text("could not read this picture")
        await expect(failed).not_to_contain_text("ValueError")  # the message, not the Python class
        await screenshot(page, "overview-failed")
        await failed.get_by_role("link", name="All 1 failed assets").click()
        await page.wait_for_url("**/?status=FAILED")
        await expect(page.locator(".hit")).to_have_count(1)
        await expect(page.locator(".hit .badge")).to_have_text("failed")
        tab.guard.check()


async def test_an_asset_nothing_was_found_on_says_so(world: World, chromium: Browser) -> None:
    async with open_tab(chromium) as tab:
        page = tab.page
        await sign_in(page, world.base, world.key)
        grey = page.locator(f".hit[data-asset-id='{world.ids['grey.jpg']}']")
        await expect(grey.locator(".badge")).to_have_text("no labels")  # not "indexed", as if still to come
        red = page.locator(f".hit[data-asset-id='{world.ids['red.jpg']}']")
        await expect(red.locator(".badge")).to_have_text(re.compile(r"^Red \d+%$"))
        tab.guard.check()


async def test_write_key_reprocesses_adds_a_version_and_deletes(
    world: World, chromium: Browser, tmp_path: Path
) -> None:
    async with open_tab(chromium) as tab:
        page = tab.page
        red = world.ids["red.jpg"]
        await sign_in(page, world.base, world.key, f"/assets/{red}")

        await page.get_by_role("button", name="Reprocess").click()
        await expect(page.get_by_role("status")).to_contain_text("Reprocessing queued")
        await page.goto(f"{world.base}/overview")
        batches = page.get_by_role("region", name="Reprocessing")
        await expect(batches).to_contain_text("1 of 1 done", timeout=20_000)

        await page.goto(f"{world.base}/assets/{red}")
        crop = tmp_path / "red-crop.jpg"
        buf = io.BytesIO()
        Image.new("RGB", (100, 80), (230, 10, 10)).save(buf, "JPEG")
        crop.write_bytes(buf.getvalue())
        await upload_version(page, crop, red, "CROP")
        versions = page.get_by_role("region", name="Versions")
        await expect(versions.get_by_role("link", name="red.jpg")).to_be_visible()
        await screenshot(page, "asset-new-version")

        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        page.on("dialog", accept)
        green = world.ids["green.jpg"]
        await page.goto(f"{world.base}/assets/{green}")
        await page.get_by_role("button", name="Delete").click()
        await page.wait_for_url(f"{world.base}/")
        assert (
            await world.services.catalog.get_asset(
                (await world.services.catalog.get_tenant_by_name("acme")).id,
                green,  # type: ignore[union-attr]
            )
            is None
        )
        tab.guard.check()


async def test_a_new_version_opens_on_a_fresh_page_and_a_duplicate_upload_says_so(
    world: World, chromium: Browser, tmp_path: Path
) -> None:
    async with open_tab(chromium) as tab:
        page = tab.page
        red = world.ids["red.jpg"]
        await sign_in(page, world.base, world.key, f"/assets/{red}")
        actions = page.get_by_role("region", name="Actions")
        await actions.get_by_role("button", name="Reprocess").click()
        await expect(actions.get_by_role("status")).to_contain_text("Reprocessing queued")

        edit = tmp_path / "red-edit.jpg"
        edit.write_bytes(jpeg_bytes((200, 40, 40), (90, 70)))
        await upload_version(page, edit, red)
        await expect(page.get_by_role("heading", name="red-edit.jpg")).to_be_visible()
        # The parent's note, chosen file and enabled button stayed on the child's page before.
        await expect(actions.get_by_role("status")).to_have_count(0)
        await expect(page.get_by_label("New version")).to_have_value("")
        await expect(page.get_by_role("button", name="Upload version")).to_be_disabled()

        await page.get_by_label("New version").set_input_files(edit)
        await page.get_by_role("button", name="Upload version").click()
        await expect(actions.get_by_role("status")).to_have_text(
            "This file is already in the archive: it is this asset."
        )
        await screenshot(page, "asset-duplicate-version")
        tab.guard.check()


async def upload_version(page: Page, path: Path, parent: str, relation: str | None = None) -> None:
    """Upload `path` as a new version of the asset `parent` from its page; the new version's page opens."""
    await page.get_by_label("New version").set_input_files(path)
    if relation is not None:
        await page.get_by_label("How it derives").select_option(relation)
    await page.get_by_role("button", name="Upload version").click()
    await page.wait_for_url(lambda url: "/assets/" in url and parent not in url)
