"""A video's asset page in Chromium: the H.264 proxy plays in a <video> element behind its poster, the
shots list their strip tiles, timecodes and labels, and choosing a shot cues the player at its start; a
shot's keyframe has a page of its own that shows its shot's labels, offers the video's actions and leads back
to the video, cued at the shot; a search hit names the shots that matched, each opening the video there."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import expect

from api.app import create_app
from bench.clips import Shot, make_clip
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from tests.api.web.conftest import Tab, screenshot, serving, sign_in
from tests.api.web.test_pages import assert_accessible, tab
from tests.conftest import make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.video]
__all__ = ["tab"]


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Poll from here: the page's CSP forbids the string evaluation wait_for_function polls with."""
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the page did not get there in time")


@pytest.fixture
async def video_site(tmp_path: Path) -> AsyncIterator[tuple[str, str, str]]:
    services: Services = build(
        Settings(
            data_dir=tmp_path / "data",
            analyzers="labels,objects,text",
            semantic_search=False,
            job_retry_base_seconds=0,
        )
    )
    tenant, key = await make_tenant(services, "acme")
    clip = make_clip(
        tmp_path / "pets.mp4",
        [
            Shot("rocket", 30, caption="LAUNCH DAY 23"),
            Shot("chelsea", 45),
            Shot("coffee", 30, pan=True),
            Shot("astronaut", 30),
        ],
        size=(640, 360),
        audio=True,
    )
    outcome = await services.ingestor.ingest_file(tenant, clip.path, "pets.mp4")
    assert outcome.asset is not None
    await services.worker().run_until_idle()
    async with serving(create_app(services)) as base:
        yield base, key, outcome.asset.id
    services.close()


async def test_the_asset_page_plays_the_proxy_and_cues_a_shot(
    video_site: tuple[str, str, str], tab: Tab
) -> None:
    base, key, asset_id = video_site
    page = tab.page
    await sign_in(page, base, key, f"/assets/{asset_id}")
    await expect(page.get_by_role("heading", name="pets.mp4")).to_be_visible()
    player = page.locator("video")
    assert "/preview" in (await player.get_attribute("poster") or "")
    # The browser decodes the proxy: its metadata loads and it has the proxy's picture size.
    await until(lambda: player.evaluate("v => v.readyState >= 1"))
    assert await player.evaluate("v => [v.videoWidth, v.videoHeight]") == [640, 360]
    assert await player.evaluate("v => v.duration") == pytest.approx(5.4, abs=0.1)

    shots = page.get_by_role("region", name="Shots").get_by_role("listitem")
    await expect(shots).to_have_count(4)
    await expect(shots.nth(0)).to_contain_text("LAUNCH DAY 23")  # the text read in the shot
    # nothing in the rocket shot is sure: its best guesses say so ("Missile? 45%")
    await expect(shots.nth(0).get_by_role("link", name=re.compile(r"^Missile\? \d+%$"))).to_be_visible()
    await expect(shots.nth(1)).to_contain_text("00:00:01:05 – 00:00:03:00")
    await expect(shots.nth(1).get_by_role("link", name="Cat")).to_be_visible()  # specific labels first
    await expect(shots.nth(1).get_by_role("link", name="Dog")).to_have_count(0)  # the detector's guess at 39
    await expect(shots.nth(2).get_by_role("link", name="Cup")).to_be_visible()
    # the astronaut: nothing the classifier is sure of, a Person the detector is sure of
    await expect(shots.nth(3).get_by_role("link", name="Person")).to_be_visible()
    # the video's labels name the detector's boxes as a photo's: its lone Dog 39 on the cat is the cat's
    video_labels = page.get_by_role("region", name="Labels")
    await expect(video_labels.get_by_role("link", name="Cat", exact=True)).to_be_visible()
    for guess in ("Dog", "Canine"):
        await expect(video_labels.get_by_role("link", name=guess, exact=True)).to_have_count(0)
    await expect(page.locator(".shot .tile")).to_have_count(4)
    await expect(page.get_by_role("figure")).to_contain_text("4 shots")
    versions = page.get_by_role("region", name="Versions")
    await expect(
        versions.get_by_role("heading", name="Keyframes", exact=True)
    ).to_be_visible()  # not "Children"
    await expect(versions.get_by_role("heading", name="Children")).to_have_count(0)
    await assert_accessible(page)
    await screenshot(page, "asset-video")

    await page.get_by_role("button", name="Play shot 3 from 00:00:03:00").click()
    await player.evaluate("v => v.pause()")  # stays in shot 3 (it lasts 1.2 s)
    await until(lambda: player.evaluate("v => v.currentTime >= 3.0"))
    # Before: the shot chosen was not marked as the current one.
    current = page.locator('.shots li[aria-current="true"]')
    await expect(current).to_have_count(1)
    await expect(current).to_contain_text("00:00:03:00")
    await screenshot(page, "asset-video-shot-chosen")
    tab.guard.check()

    # A shot links to its keyframe's own page, which says which video and shot it is from; its labels are
    # what the shot's analysis found (the frame has no analysis of its own), and its actions are the video's.
    await expect(page.get_by_role("link", name="Keyframe of shot 1")).to_be_visible()
    await page.get_by_role("link", name="Keyframe of shot 2").click()
    await expect(page.get_by_role("heading", name="pets-shot002.jpg")).to_be_visible()
    origin = page.get_by_role("region", name="From the video")
    await expect(origin).to_contain_text("The keyframe of shot 2 (00:00:01:05 – 00:00:03:00) of pets.mp4")
    labels = page.get_by_role("region", name="Labels")
    await expect(labels).to_contain_text("Found in shot 2 by the analysis of pets.mp4")
    await expect(labels.get_by_role("link", name="Cat")).to_be_visible()
    await expect(labels).not_to_contain_text("No labels")
    assert "Cat" in (await page.get_by_role("img", name="pets-shot002.jpg").get_attribute("alt") or "")
    await expect(page.get_by_role("group", name="Show on the picture")).to_have_count(0)  # nothing to draw
    await expect(page.get_by_role("heading", name="Recognition runs")).to_have_count(0)  # none of its own
    await expect(
        page.get_by_role("region", name="Versions").get_by_role("heading", name="Video", exact=True)
    ).to_be_visible()
    actions = page.get_by_role("region", name="Actions")
    await expect(actions).to_contain_text("made by the analysis of pets.mp4")
    await expect(actions.get_by_role("button", name="Upload version")).to_have_count(0)
    await expect(actions.get_by_role("button", name="Delete")).to_have_count(0)
    await assert_accessible(page)
    await screenshot(page, "asset-frame")
    await actions.get_by_role("button", name="Reprocess the video").click()
    await expect(actions.get_by_role("status")).to_contain_text("Reprocessing queued (batch")

    # "Play shot 2" opens the video cued at that shot's start, the shot marked in the list
    await origin.get_by_role("link", name="Play shot 2").click()
    await expect(page.get_by_role("heading", name="pets.mp4")).to_be_visible()
    await until(
        lambda: player.evaluate("v => v.readyState >= 1 && v.currentTime >= 1.2 && v.currentTime < 3")
    )
    assert await player.evaluate("v => v.paused")  # cued, not played
    await expect(page.locator('.shots li[aria-current="true"]')).to_contain_text("00:00:01:05")
    await screenshot(page, "asset-video-cued")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await screenshot(page, "asset-video-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.go_back()
    await expect(page.get_by_role("heading", name="pets-shot002.jpg")).to_be_visible()
    await origin.get_by_role("link", name="pets.mp4").click()
    await expect(page.get_by_role("heading", name="pets.mp4")).to_be_visible()

    # A search finds the video with the shots that matched: each opens the video cued at that shot.
    await page.goto(f"{base}/?label=Cat")
    hit = page.locator(".hit", has_text="pets.mp4")
    await expect(hit.get_by_role("link", name="pets.mp4: play shot 2")).to_contain_text(
        "shot 2 · 00:00:01:05"
    )
    await expect(hit.get_by_role("link", name="pets.mp4: play shot 1")).to_have_count(0)  # no cat in it
    facets = page.get_by_role("region", name="Labels")  # the search's label facets
    await expect(facets).to_contain_text("Cat")
    await expect(facets).not_to_contain_text("Dog")
    await expect(facets).not_to_contain_text("Canine")
    await screenshot(page, "search-video")
    await hit.get_by_role("link", name="pets.mp4: play shot 2").click()
    await expect(page.get_by_role("heading", name="pets.mp4")).to_be_visible()
    await until(
        lambda: player.evaluate("v => v.readyState >= 1 && v.currentTime >= 1.2 && v.currentTime < 3")
    )

    # A shot the video does not have is named (it was ignored in silence); the video plays from the start.
    await page.goto(f"{base}/assets/{asset_id}?shot=99")
    await expect(page.get_by_role("status")).to_have_text(
        "There is no shot 99; this video has 4 shots. It plays from the start."
    )
    await until(lambda: player.evaluate("v => v.readyState >= 1"))
    assert await player.evaluate("v => v.currentTime") == 0
    await expect(page.locator(".shots li[aria-current]")).to_have_count(0)
    await screenshot(page, "asset-video-no-such-shot")
    tab.guard.check()
