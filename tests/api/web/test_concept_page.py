"""The concept pages in headless Chromium: the list with the active version's metrics, one concept's
versions, examples with their thumbnails (uploaded ones marked) and "is this also X?" suggestions;
confirming one suggestion and rejecting another, training a new version and activating it, as a person
with a write key would; and the note shown while a version's scores are being prepared by a worker."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Browser, expect

from api.app import create_app
from catalog.domain.concepts.model import ExampleSource
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.web.conftest import open_tab, screenshot, serving, sign_in, working
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorFeatureLabeler

pytestmark = pytest.mark.browser

REDS = [
    (240, 20, 20),
    (220, 40, 30),
    (200, 10, 60),
    (250, 60, 40),
    (180, 20, 20),
    (230, 30, 90),
    (210, 70, 50),
]
OTHERS = [(20, 230, 20), (20, 20, 200), (40, 200, 60), (30, 60, 220), (10, 180, 160), (60, 90, 250)]


@dataclass
class World:
    services: Services
    base: str
    key: str
    tenant: str
    reds: list[str]
    uploads: list[str]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("concepts") / "data",
        analyzers="labels",
        semantic_search=False,
        job_retry_base_seconds=0.0,
    )
    services = build(settings, labeler=ColorFeatureLabeler())
    tenant, key = await make_tenant(services, "acme")
    ids = []
    for n, color in enumerate(REDS + OTHERS):
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color, (320, 240)), f"photo-{n}.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    await services.worker().run_until_idle()
    reds = ids[: len(REDS)]
    await services.concepts.create(tenant, "Crimson", positives=reds[:5], parents=["Warm colour"])
    uploads = []  # pictures that exist only to teach it: one red, one not
    for n, color in enumerate([(235, 25, 45), (25, 25, 25)]):
        outcome = await services.ingestor.ingest(
            tenant, jpeg_bytes(color, (320, 240)), f"upload-{n}.jpg", training_example=True
        )
        assert outcome.asset is not None
        uploads.append(outcome.asset.id)
    await services.worker().run_until_idle()
    await services.concepts.add_examples(
        tenant, "Crimson", positives=uploads[:1], negatives=uploads[1:], source=ExampleSource.UPLOAD
    )
    await services.concepts.train(tenant, "Crimson")
    await services.worker().run_until_idle()
    async with serving(create_app(services)) as base, working(services):
        yield World(services, base, key, tenant, reds, uploads)
    services.close()


async def test_a_concept_is_corrected_trained_and_activated_in_the_page(
    world: World, chromium: Browser
) -> None:
    async with open_tab(chromium) as tab:
        page = tab.page
        await sign_in(page, world.base, world.key, "/concepts")
        row = page.get_by_role("row", name="Crimson")
        await expect(row).to_contain_text("100%")  # v1's recall: every red found
        await screenshot(page, "concepts-list")
        await row.get_by_role("link", name="Crimson").click()
        await page.wait_for_url("**/concepts/Crimson")
        await expect(page).to_have_title("Crimson · Concept · Mediasight")

        versions = page.get_by_role("region", name="Versions")
        await expect(versions.get_by_role("row", name="v1")).to_contain_text("ready")
        positives = page.get_by_role("region", name="Positive")
        negatives = page.get_by_role("region", name="Negative")
        await expect(positives.locator(".hit")).to_have_count(6)
        await expect(negatives.locator(".hit")).to_have_count(1)
        # the uploads (training examples) are marked as such, the archive's examples are not
        uploaded = page.locator(".examples .hit", has=page.locator(".badge", has_text="uploaded"))
        await expect(uploaded).to_have_count(2)
        assert {await uploaded.nth(i).locator("a.thumb").get_attribute("href") for i in range(2)} == {
            f"/assets/{a}" for a in world.uploads
        }
        await expect(positives.locator(".hit img")).to_have_count(6)  # every example has its thumbnail
        suggestions = page.locator(".suggestions .hit")
        await expect(suggestions.first).to_be_visible()
        top_two = {await suggestions.nth(i).locator("a.thumb").get_attribute("href") for i in range(2)}
        assert top_two == {f"/assets/{a}" for a in world.reds[5:]}  # the unconfirmed reds score highest
        await screenshot(page, "concept-v1")

        first_red = await suggestions.first.locator("a.thumb").get_attribute("href")
        await suggestions.first.get_by_role("button", name="Yes").click()
        await expect(page.get_by_role("status")).to_contain_text("Added as a positive example")
        await expect(positives.locator(".hit")).to_have_count(7)
        # it left the suggestions for the examples
        await expect(positives.locator(f'a.thumb[href="{first_red}"]')).to_have_count(1)
        await expect(page.locator(f'.suggestions a.thumb[href="{first_red}"]')).to_have_count(0)
        # focus goes to the suggestion now in its place (it fell to <body>): the keyboard answers on
        await expect(suggestions.first.get_by_role("button", name="Yes")).to_be_focused()
        # and a suggestion answered "no" becomes a negative example
        last = page.locator(".suggestions .hit").last
        wrong = await last.locator("a.thumb").get_attribute("href")
        await last.get_by_role("button", name="No").click()
        await expect(page.get_by_role("status")).to_contain_text("Added as a negative example")
        await expect(negatives.locator(f'a.thumb[href="{wrong}"]')).to_have_count(1)
        await expect(page.locator(f'.suggestions a.thumb[href="{wrong}"]')).to_have_count(0)
        # only plausible assets are suggested (the others scored ~0%): the list is done, focus on its heading
        await expect(page.locator(".suggestions .hit")).to_have_count(0)
        await expect(page.locator("#suggest-h")).to_be_focused()
        await page.get_by_role("button", name="Train a new version").click()
        await expect(page.get_by_role("status")).to_contain_text("Training queued")
        # the page looks again while a version trains: no reload needed
        await expect(versions.get_by_role("row", name="v2")).to_contain_text("ready", timeout=60_000)
        await versions.get_by_role("row", name="v2").get_by_role("button", name="activate").click()
        await expect(page.get_by_role("status")).to_contain_text("Version 2 active")
        await expect(versions.get_by_role("row", name="v2 (active)")).to_be_visible()
        await screenshot(page, "concept-v2-active")
        tab.guard.check()

    concept = await world.services.concepts.get(world.tenant, "Crimson")
    assert concept.active_version == 2
    examples = await world.services.concepts.examples(world.tenant, concept)
    assert sum(e.positive for e in examples) == 7 and sum(not e.positive for e in examples) == 2


async def test_the_page_says_when_a_versions_scores_are_being_prepared(
    world: World, chromium: Browser
) -> None:
    concept = await world.services.concepts.get(world.tenant, "Crimson")
    assert concept.active_version is not None  # after the test above: v2
    active = await world.services.catalog.get_version(world.tenant, concept.id, concept.active_version)
    assert active is not None and active.scored
    # as a version trained before scores were kept is stored: its scores are prepared by a worker
    await world.services.catalog.save_version(dataclasses.replace(active, scored=False, scored_through=""))
    async with open_tab(chromium) as tab:
        page = tab.page
        await sign_in(page, world.base, world.key, "/concepts/Crimson")
        suggestions = page.get_by_role("region", name="Is this also Crimson?")
        await expect(suggestions).to_contain_text(
            f"Version {active.number}'s scores over the archive are being prepared in the background"
        )
        await expect(suggestions.locator(".hit")).to_have_count(0)
        await screenshot(page, "concept-scores-prepared")
        for _ in range(200):  # the page's read queued the job; the worker running beside the server does it
            again = await world.services.catalog.get_version(world.tenant, concept.id, active.number)
            if again is not None and again.scored:
                break
            await asyncio.sleep(0.05)
        await page.reload()
        # every red is an example by now; the rest score ~0%, too far from the concept to suggest
        await expect(suggestions).to_contain_text("Nothing to suggest: no other asset scores near")
        await expect(suggestions).not_to_contain_text("being prepared")
        tab.guard.check()
