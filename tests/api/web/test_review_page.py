"""The reviewer page in Chromium: a reviewer signs in with its key, answers with y / n / 1–9 / typed text,
skips with space, takes answers back with z; the next image is decoded ahead; a wrong-on-purpose reviewer
among three ends up paused and the consensus becomes the assets' human labels. Skip and Undo by button,
Space pressing a focused button, skipped tasks offered again, z after the last task, a key that is not a
reviewer's told so plainly, and an empty queue asking again (new tasks show without a reload)."""

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


async def test_skip_and_undo_work_by_button_and_key_and_skipped_tasks_come_back(
    chromium: Browser, services: Services
) -> None:
    tenant, owner_key = await make_tenant(services, "acme")
    names = ["red", "green", "blue"]
    for name in names:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(COLORS[name], (96, 64)), f"{name}.jpg")
        assert outcome.asset is not None
        await services.worker().run_until_idle()
        await services.review.tasks.request(
            tenant, [outcome.asset.id], QuestionKind.VERIFY, name.capitalize()
        )
    key, _ = await services.review.reviewers.add(tenant, "Ann")
    async with serving(create_app(services)) as base:
        async with open_tab(chromium, width=390, height=844) as tab:
            page = tab.page
            await sign_in(page, base, key, "/review")
            item, pace = page.locator(".review-item"), page.get_by_test_id("pace")
            skipped = await item.get_attribute("data-task")
            await page.get_by_role("button", name="Skip").click()  # a phone has no space bar
            await expect(page.locator(f'.review-item[data-task="{skipped}"]')).to_have_count(0)
            # Space on a focused button presses it (it skipped before)
            second = await item.get_attribute("data-task")
            await page.get_by_role("button", name="Yes (y)").focus()
            await page.keyboard.press(" ")
            await expect(pace).to_contain_text("1 answered")
            await expect(page.locator(f'.review-item[data-task="{second}"]')).to_have_count(0)
            third = await item.get_attribute("data-task")
            await page.keyboard.press("n")
            # The queue ran dry: the skipped task is offered again (it never came back before)
            again = page.get_by_role("button", name="Show it again")
            await expect(page.get_by_text("1 skipped task remains.")).to_be_visible()
            # z takes back the last answer with nothing left to answer too (it did nothing)
            await page.keyboard.press("z")
            await expect(page.locator(f'.review-item[data-task="{third}"]')).to_be_visible()
            await page.keyboard.press("y")
            await expect(again).to_be_visible()
            await screenshot(page, "review-skipped-remain")
            await again.click()
            await expect(page.locator(f'.review-item[data-task="{skipped}"]')).to_be_visible()
            await page.get_by_role("button", name="Yes (y)").click()
            await page.get_by_role("button", name="Undo").click()
            await expect(page.locator(f'.review-item[data-task="{skipped}"]')).to_be_visible()
            await page.get_by_role("button", name="No (n)").click()
            await expect(page.get_by_text("No tasks waiting")).to_be_visible()
            await expect(pace).to_contain_text("3 answered")
            tab.guard.check()

        # A key that is not a reviewer's: one plain message, not key hints and an endless "Loading…"
        async with open_tab(chromium) as tab:
            page = tab.page
            await sign_in(page, base, owner_key, "/review")
            await expect(page.get_by_text("Reviewing needs a reviewer's key")).to_be_visible()
            await expect(page.locator("main")).to_contain_text("mediasight reviewer add NAME --tenant acme")
            await expect(page.get_by_text("Loading…")).to_have_count(0)
            await expect(page.get_by_test_id("pace")).to_have_count(0)
            await expect(page.get_by_role("alert")).to_have_count(0)
            await screenshot(page, "review-not-a-reviewer")
            tab.guard.check()


async def test_an_empty_queue_shows_new_tasks_without_a_reload(chromium: Browser, services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    assets = []
    for name in ("red", "green"):
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(COLORS[name], (96, 64)), f"{name}.jpg")
        assert outcome.asset is not None
        assets.append(outcome.asset.id)
    await services.worker().run_until_idle()
    key, _ = await services.review.reviewers.add(tenant, "Ann")
    async with serving(create_app(services)) as base, open_tab(chromium) as tab:
        page = tab.page
        await page.add_init_script("window.__reviewPollMs = 300")
        await sign_in(page, base, key, "/review")
        item = page.locator(".review-item")
        await expect(page.get_by_text("No tasks waiting")).to_be_visible()
        # A task made while the page waits shows at the next poll (the page never asked again before)
        await services.review.tasks.request(tenant, [assets[0]], QuestionKind.VERIFY, "Red")
        await expect(item).to_be_visible(timeout=5_000)
        await page.evaluate("window.__reviewPollMs = 600000")  # from now on, only becoming visible asks
        await page.keyboard.press("y")
        await expect(page.get_by_text("No tasks waiting")).to_be_visible()
        await services.review.tasks.request(tenant, [assets[1]], QuestionKind.VERIFY, "Green")
        await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back to the tab
        await expect(item).to_be_visible(timeout=5_000)
        await expect(page.get_by_test_id("pace")).to_contain_text("1 answered")
        tab.guard.check()
