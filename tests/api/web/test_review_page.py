"""The reviewer page in Chromium: a reviewer signs in with its key, answers with y / n / 1–9 / typed text,
skips with space, takes answers back with z; the next image is decoded ahead; a wrong-on-purpose reviewer
among three ends up paused and the consensus becomes the assets' human labels."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from api.app import create_app
from catalog.domain.review.tasks import QuestionKind, ReviewRules, TaskStatus
from mediasight.bootstrap import Services
from tests.api.web.conftest import open_tab, screenshot, serving, sign_in
from tests.conftest import jpeg_bytes, make_tenant

pytestmark = pytest.mark.browser

COLORS = {"red": (230, 30, 30), "green": (30, 220, 30), "blue": (30, 30, 220)}


async def answer_all(page: Page, right: bool, answered: int) -> int:
    """Answer every task in the queue, rightly or wrongly; returns how many were answered."""
    item, empty = page.locator(".review-item"), page.get_by_text("No tasks waiting")
    while True:
        # The next item, or the page saying the queue is empty (on a loaded machine either may take a while).
        await expect(item.or_(empty)).to_be_visible(timeout=30_000)
        if not await item.count():
            return answered
        key = "y" if right else "n"  # every question names the image's own color: the truth is yes
        before = await item.get_attribute("data-task")
        await page.keyboard.press(key)
        answered += 1
        await expect(page.locator(f'.review-item[data-task="{before}"]')).to_have_count(0)


async def test_reviewers_answer_in_the_page_and_the_wrong_one_is_paused(
    chromium: Browser, services: Services
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await services.review.store.set_review_rules(
        tenant, ReviewRules(answers_per_task=3, gold_rate=0.0, rating_floor=0.6)
    )
    ids = {}
    for i in range(12):
        name = list(COLORS)[i % 3]
        outcome = await services.ingestor.ingest(
            tenant, jpeg_bytes(COLORS[name], (96 + i, 64)), f"{name}{i}.jpg"
        )
        assert outcome.asset is not None
        ids[outcome.asset.id] = name
    await services.worker().run_until_idle()
    for asset, name in ids.items():  # "Does this picture show <its own color>?": the truth is yes
        await services.review.tasks.request(tenant, [asset], QuestionKind.VERIFY, name.capitalize())
    keys = {n: (await services.review.reviewers.add(tenant, n))[0] for n in ("Ann", "Bob", "Eve")}
    async with serving(create_app(services)) as base:
        for name, key in keys.items():
            async with open_tab(chromium) as tab:
                page = tab.page
                await sign_in(page, base, key, "/review")
                await expect(page.locator(".prompt")).to_contain_text("Does this picture show")
                if name == "Ann":
                    # The whole image shows: its box lies within the frame (a taller box was cropped).
                    image = await page.locator(".review-image img").bounding_box()
                    frame = await page.locator(".review-image").bounding_box()
                    assert image is not None and frame is not None
                    assert (
                        frame["y"] <= image["y"]
                        and image["y"] + image["height"] <= frame["y"] + frame["height"]
                    )
                    await screenshot(page, "review-verify")
                    # z takes the last answer back: the same task comes again.
                    first = await page.locator(".review-item").get_attribute("data-task")
                    await page.keyboard.press("y")
                    await page.keyboard.press("z")
                    await expect(page.locator(f'.review-item[data-task="{first}"]')).to_have_count(1)
                done = await answer_all(page, name != "Eve", 0)
                assert done == 12
                await expect(page.get_by_test_id("pace")).to_contain_text("12 answered")
                timings = await page.evaluate("window.__reviewTimings")
                # Presses are timed to the next image painted; one that comes before the previous image
                # was painted is not (this test does not wait for paints; bench/review.py does).
                assert len(timings) >= 6 and all(t >= 0 for t in timings)
                tab.guard.check()
    await services.review.quality.idle()  # the passes the answers started, then one more
    await services.review.quality.refresh(tenant)
    reviewers = {r.name: r for r in await services.review.store.list_reviewers(tenant)}
    assert reviewers["Eve"].paused and not reviewers["Ann"].paused
    done = await services.review.store.list_tasks(tenant, TaskStatus.DONE, after=None, limit=100)
    assert len(done) == 12 and {t.consensus for t in done} == {"yes"}
