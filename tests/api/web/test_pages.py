"""The pages end to end in Chromium, on real photos analyzed by the real local models: search by a parent
label in confidence order, the asset page with its face box and labels, naming a face and finding the
person, the overview, a read-only key and another tenant's key. No request may leave 127.0.0.1."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import ExifTags, Image
from playwright.async_api import Browser, Page, Route, expect

from api.app import create_app
from api.context import Context
from api.schema import schema
from catalog.domain.model import Scope
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.keys import issue_key
from tests.api.web.conftest import SCREENSHOTS, Tab, open_tab, screenshot, serving, sign_in, working
from tests.conftest import make_tenant
from tests.e2e.photos import ingest_all, jpeg, photo, recognition_photos

pytestmark = pytest.mark.browser


@dataclass
class World:
    services: Services
    base: str
    tenant: str
    key: str
    reader: str  # a read-only key of the same tenant
    other_key: str  # another tenant's key
    ids: dict[str, str]  # filename -> asset ID

    async def gql(self, document: str, **variables: Any) -> dict[str, Any]:
        result = await schema.execute(
            document, variable_values=variables, context_value=Context(self.services, self.tenant)
        )
        assert result.errors is None and result.data is not None, result.errors
        return result.data


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    services = build(Settings(data_dir=tmp_path_factory.mktemp("web") / "data", job_retry_base_seconds=0.0))
    tenant, key = await make_tenant(services, "acme")
    reader, _ = await issue_key(services.catalog, tenant, [Scope.READ])
    other, other_key = await make_tenant(services, "globex")
    ids = await ingest_all(services, tenant, recognition_photos())
    # The other tenant has a cat too: acme's searches must not see it, nor it acme's.
    assert (
        await services.ingestor.ingest(other, jpeg(photo("chelsea").rotate(90, expand=True)), "b.jpg")
    ).asset
    await services.worker().run_until_idle()
    async with serving(create_app(services)) as base, working(services):
        yield World(services, base, tenant, key, reader, other_key, ids)
    services.close()


@pytest.fixture
async def tab(chromium: Browser) -> AsyncIterator[Tab]:
    async with open_tab(chromium) as t:
        yield t
        t.guard.check()


async def hits(page: Page) -> list[str]:
    # attached, not visible: an empty result (the worker has not re-indexed yet) is a hidden, empty grid
    await page.locator(".grid[data-ready]").wait_for(state="attached")
    return await page.locator(".hits .hit").evaluate_all("els => els.map(e => e.dataset.assetId)")


async def assert_accessible(page: Page) -> None:
    """Every image has alt text; every form control has a label."""
    no_alt = await page.locator("img:not([alt])").count()
    assert no_alt == 0
    unlabeled = await page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => !el.labels?.length && !el.getAttribute('aria-label')).map(el => el.outerHTML)"""
    )
    assert unlabeled == []


async def test_search_for_a_parent_label_shows_the_right_thumbnails_in_confidence_order(
    world: World, tab: Tab
) -> None:
    page = tab.page
    await sign_in(page, world.base, world.key)
    await page.get_by_label("Search the archive").fill("animal")
    await page.get_by_label("Search the archive").press("Enter")
    await page.wait_for_url("**/?q=animal")
    shown = await hits(page)
    api = await world.gql(
        '{ search(query: "animal", first: 60) { edges { score node { id } matches { confidence } } } }'
    )
    edges = api["search"]["edges"]
    assert shown == [e["node"]["id"] for e in edges]
    assert world.ids["chelsea.jpg"] in shown and world.ids["memo.png"] not in shown
    scores = [e["score"] for e in edges]
    assert scores == sorted(scores, reverse=True)
    first = page.locator(".hit").first
    await expect(first.locator(".badge")).to_have_text(re.compile(r".+ \d+%"))
    await first.locator(".thumb").hover()
    await expect(first.locator(".why")).to_be_visible()
    await expect(first.locator(".why")).to_contain_text("matched")
    loaded = await page.locator(".hit img").evaluate_all(
        "imgs => imgs.map(i => i.complete && i.naturalWidth)"
    )
    assert all(loaded), loaded
    await assert_accessible(page)
    await screenshot(page, "search-animal")

    # The URL holds the search: a reload (or a shared link) shows the same.
    await page.reload()
    assert await hits(page) == shown
    # A facet refines the search and shows as a removable chip.
    await page.get_by_role("region", name="Labels").get_by_role("button").first.click()
    await expect(page.get_by_role("list", name="Active filters")).to_be_visible()
    assert "label=" in page.url


async def test_asset_page_shows_the_face_box_and_labels_and_a_named_face_is_found_by_person(
    world: World, tab: Tab
) -> None:
    page = tab.page
    astronaut = world.ids["astronaut.jpg"]
    await sign_in(page, world.base, world.key, f"/assets/{astronaut}")
    await expect(page.get_by_role("heading", name="astronaut.jpg")).to_be_visible()
    await expect(page.locator(".box.face")).to_have_count(1)
    # the picture's size is known once it has loaded (under load it can still be 0 × 0 here)
    await page.wait_for_function(
        "() => document.querySelector('.stage img')?.getBoundingClientRect().width > 0"
    )
    box = await page.locator(".box.face").bounding_box()
    picture = await page.locator(".stage img").bounding_box()
    assert (
        box
        and picture
        and picture["x"] <= box["x"]
        and box["x"] + box["width"] <= picture["x"] + picture["width"]
    )
    labels = page.get_by_role("region", name="Labels")
    await expect(labels.get_by_role("link", name="Person", exact=True)).to_be_visible()
    # provenance: the models and versions; Person is the detector's (and the faces'), not the classifier's
    await expect(labels.locator(".provenance")).to_contain_text(
        re.compile(r"^By efficientnet.* and centernet")
    )
    # 100 % is for what human review confirmed: the face detector's Person at 99.9x reads 99 %
    data = await world.gql("query ($id: ID!) { asset(id: $id) { labels { name confidence } } }", id=astronaut)
    person = next(lb for lb in data["asset"]["labels"] if lb["name"] == "Person")
    assert 99.5 <= person["confidence"] < 100
    person_row = labels.locator("li", has=page.get_by_role("link", name="Person", exact=True))
    await expect(person_row.locator(".count")).to_have_text("99%")
    await assert_accessible(page)
    await screenshot(page, "asset-astronaut")

    await page.get_by_label("Faces (1)").uncheck()
    await expect(page.locator(".box.face")).to_have_count(0)
    await page.get_by_label("Faces (1)").check()

    await page.get_by_label("Name face 1").fill("Eileen Collins")
    await page.get_by_role("button", name="Save name").click()
    await expect(
        page.get_by_role("region", name="Faces").get_by_role("link", name="Eileen Collins")
    ).to_be_visible()
    await expect(page.locator(".box.face")).to_have_text("Eileen Collins")

    await page.get_by_role("link", name="Eileen Collins").click()
    await page.wait_for_url(re.compile(r"/\?person=Eileen(%20|\+)Collins$"))
    # Naming re-indexes the named assets through the worker: the person is searchable a moment later.
    wanted = sorted([astronaut, world.ids["collins_again.jpg"]])
    for _ in range(120):
        if sorted(found := await hits(page)) == wanted:
            break
        await page.wait_for_timeout(500)
        await page.reload()
    assert sorted(found) == wanted
    await expect(page.get_by_role("list", name="Active filters")).to_contain_text("person: Eileen Collins")
    await screenshot(page, "search-person")

    # Keyboard: tab to a thumbnail and open it.
    await page.locator(".hit .thumb").first.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/assets/{found[0]}")


async def test_a_models_guess_is_marked_as_one(world: World, tab: Tab) -> None:
    """A label under 50 (the Dining Table under the coffee cup) reads as a guess; a sure one does not."""
    coffee = world.ids["coffee.jpg"]
    data = await world.gql("query ($id: ID!) { asset(id: $id) { labels { name guess } } }", id=coffee)
    guesses = {lb["name"] for lb in data["asset"]["labels"] if lb["guess"]}
    assert "Dining Table" in guesses and "Espresso" not in guesses
    page = tab.page
    await sign_in(page, world.base, world.key, f"/assets/{coffee}")
    labels = page.get_by_role("region", name="Labels")
    guessed = labels.locator("li.guess")
    await expect(guessed.get_by_role("link", name="Dining Table", exact=True)).to_be_visible()
    await expect(guessed.filter(has_text="Dining Table").locator(".guess-mark")).to_have_text("guess")
    await expect(
        labels.locator("li:not(.guess)").get_by_role("link", name="Espresso", exact=True)
    ).to_be_visible()
    assert await guessed.count() == len(guesses)
    # its box on the picture is marked as one too; the sure cup's is not
    boxes = page.locator(".box.object")
    await expect(boxes.filter(has_text=re.compile(r"^Dining Table\? \d+%$"))).not_to_have_count(0)
    await expect(boxes.filter(has_text=re.compile(r"^Cup \d+%$"))).not_to_have_count(0)
    await screenshot(page, "asset-guesses")
    # and so is it in what its first runs found (each added, no run before them); a sure label is not
    await page.get_by_role("button", name="What changed in the latest runs").click()
    found = page.get_by_role("region", name="Run diff").get_by_role("listitem")
    await expect(found.filter(has_text=re.compile(r"^\+ label Dining Table\? \d+%$"))).to_have_count(1)
    await expect(found.filter(has_text=re.compile(r"^\+ label Espresso \d+%$"))).to_have_count(1)
    await page.get_by_role("region", name="Run diff").screenshot(path=SCREENSHOTS / "asset-diff-guesses.png")

    # A photo no model is sure of: its search hit names its best guess, as a guess (a tenant of its own).
    tenant, key = await make_tenant(world.services, "initech")
    outcome = await world.services.ingestor.ingest(tenant, jpeg(photo("rocket")), "rocket.jpg")
    assert outcome.asset is not None
    await world.services.worker().run_until_idle()
    await tab.context.clear_cookies()  # signed out of acme
    await sign_in(page, world.base, key, "/")
    await expect(page.locator(".hit .badge")).to_have_text(re.compile(r"^Missile\? \d+%$"))


async def test_label_facets_count_findings_and_a_facet_refines_to_its_count(world: World, tab: Tab) -> None:
    """The label facets count what a model is sure of (the coffee's Dining Table guess is not counted, and
    the list says so); a facet counted N refines to N hits, a second one within the first too; a guess is
    found when asked for ("Labels: guesses too", or its link on the asset page), and explained as a guess."""
    coffee = world.ids["coffee.jpg"]
    data = await world.gql("{ search(first: 60) { facets { labels { value count } } } }")
    counted = {f["value"]: f["count"] for f in data["search"]["facets"]["labels"]}
    assert counted and "Dining Table" not in counted
    page = tab.page
    await sign_in(page, world.base, world.key, "/")
    facets = page.get_by_role("region", name="Labels")
    await expect(facets.locator(".facet-note")).to_have_text(
        "Sure labels only: a model's guess is not counted"
    )
    await expect(facets.get_by_role("button", name="Dining Table", exact=True)).to_have_count(0)
    # a photo fills its square tile; the wide typed memo is shown whole (a crop cut its words off)
    fits = {
        name: await page.locator(f".hit[data-asset-id='{world.ids[name]}'] img").evaluate(
            "img => getComputedStyle(img).objectFit"
        )
        for name in ("memo.png", "chelsea.jpg", "astronaut.jpg")
    }
    assert fits == {"memo.png": "contain", "chelsea.jpg": "cover", "astronaut.jpg": "cover"}
    await screenshot(page, "search-facets")
    for pick in ("first", "last"):  # a facet, then the rarest within it: each narrows to its count
        unpressed = facets.get_by_role("button", pressed=False)
        button = unpressed.first if pick == "first" else unpressed.last
        value = await button.text_content()
        count = int(await button.locator("xpath=following-sibling::span[@class='count']").inner_text())
        await button.click()
        await expect(facets.get_by_role("button", name=value or "", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(page.locator(".total")).to_have_text(f"{count} asset" + ("" if count == 1 else "s"))
        assert len(await hits(page)) == count, value
    await screenshot(page, "search-facets-refined")

    await page.goto(f"{world.base}/?label=Dining%20Table")
    assert await hits(page) == []  # a guess is no finding
    await page.get_by_label("Labels: guesses too").check()
    await page.wait_for_url("**guesses=1")
    assert coffee in await hits(page)
    hit = page.locator(f'.hit[data-asset-id="{coffee}"]')
    await hit.locator(".thumb").hover()
    await expect(hit.locator(".why")).to_contain_text(re.compile(r"matched Dining Table\? \d+%"))
    await expect(page.get_by_role("list", name="Active filters")).to_contain_text("labels: guesses too")
    await assert_accessible(page)
    await screenshot(page, "search-guesses-asked")
    # the asset page's link to a guessed label asks for guesses: the asset is among its hits
    await page.goto(f"{world.base}/assets/{coffee}")
    await (
        page.get_by_role("region", name="Labels").get_by_role("link", name="Dining Table", exact=True).click()
    )
    await page.wait_for_url("**guesses=1")
    assert coffee in await hits(page)


async def test_overview_counts_labels_and_latest_changes(world: World, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, world.base, world.key, "/overview")
    counts = page.get_by_role("region", name="Assets by status")
    await expect(counts.get_by_role("row", name="indexed")).to_contain_text("6")
    await expect(counts.get_by_role("row", name="all")).to_contain_text("6")
    top = page.get_by_role("region", name="Labels most present")
    await expect(top.get_by_role("link", name="Person", exact=True)).to_be_visible()
    await expect(page.locator(".changes .thumb")).not_to_have_count(0)
    # the latest change first (one page of the feed, newest first)
    times = await page.locator(".changes time").evaluate_all("ts => ts.map(t => t.dateTime)")
    assert len(times) > 1 and times == sorted(times, reverse=True), times
    # a filename keeps to one line ("IMG_0037.jp" / "g" read as two words); the time goes below it
    lines = await page.locator(".changes .file").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).fontSize))"
    )
    assert len(lines) == len(times) and all(h < 2 for h in lines), lines
    await assert_accessible(page)
    await screenshot(page, "overview")


async def test_a_read_only_key_sees_no_write_buttons(world: World, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, world.base, world.reader, f"/assets/{world.ids['astronaut.jpg']}")
    await expect(page.get_by_role("region", name="Labels")).to_be_visible()
    await expect(page).to_have_title("astronaut.jpg · Mediasight")  # a tab and a bookmark say which asset
    await expect(page.locator(".box.face")).to_have_count(1)
    for name in ("Save name", "Delete", "Reprocess", "Upload version"):
        await expect(page.get_by_role("button", name=name)).to_have_count(0)
    await screenshot(page, "asset-read-only")


async def test_the_time_taken_reads_as_recorded_in_any_time_zone(world: World, chromium: Browser) -> None:
    """A camera's 10:00 without a zone (EXIF DateTimeOriginal) reads 10:00 to a user in New York too; one
    recorded at +02:00 (OffsetTimeOriginal) reads 10:00 and names its offset (it read 08:00, in UTC)."""
    tenant, key = await make_tenant(world.services, "dated")
    shown = {}
    for name, offset in (("dated.jpg", None), ("paris.jpg", "+02:00")):
        exif = Image.Exif()
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "1984:02:03 10:00:00"
        if offset:
            exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
        buf = io.BytesIO()
        photo("coffee" if offset is None else "astronaut").save(buf, "JPEG", exif=exif)
        outcome = await world.services.ingestor.ingest(tenant, buf.getvalue(), name)
        assert outcome.asset is not None
        shown[name] = outcome.asset.id
    await world.services.worker().run_until_idle()
    async with open_tab(chromium, timezone="America/New_York") as tab:
        await sign_in(tab.page, world.base, key, f"/assets/{shown['dated.jpg']}")
        for name, expected in (
            ("dated.jpg", r"1984.*\b10:00:00(?!.*UTC)"),
            ("paris.jpg", r"1984.*\b10:00:00.*\(UTC\+02:00\)"),
        ):
            await tab.page.goto(f"{world.base}/assets/{shown[name]}")
            taken = tab.page.get_by_role("region", name="Properties").locator("dd").nth(3)
            await expect(taken).to_have_text(re.compile(expected))
        tab.guard.check()


async def test_another_tenants_key_sees_none_of_it(world: World, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, world.base, world.other_key, "/?q=animal")
    shown = await hits(page)
    assert len(shown) == 1 and not set(shown) & set(world.ids.values())
    await page.goto(f"{world.base}/assets/{world.ids['chelsea.jpg']}")
    await expect(page.get_by_role("heading", name="No such asset")).to_be_visible()
    await page.goto(f"{world.base}/overview")
    counts = page.get_by_role("region", name="Assets by status")
    await expect(counts.get_by_role("row", name="all")).to_contain_text("1")
    await expect(page.get_by_role("region", name="Labels most present")).not_to_contain_text("Person")


async def test_phone_width_pages_fit_the_screen(world: World, chromium: Browser) -> None:
    async with open_tab(chromium, width=390, height=844) as tab:
        page = tab.page
        for path, name in [
            ("/?q=animal", "phone-search"),
            (f"/assets/{world.ids['astronaut.jpg']}", "phone-asset"),
            ("/overview", "phone-overview"),
        ]:
            if name == "phone-search":
                await sign_in(page, world.base, world.key, path)
                await hits(page)
            elif name == "phone-overview":
                await page.goto(world.base + path)
                await expect(page.locator(".changes time").first).to_be_visible()
            else:
                await page.goto(world.base + path)
                await expect(page.locator(".stage img")).to_be_visible()
            overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            wide = await page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
                    .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
                    .slice(0, 8)"""
            )
            await screenshot(page, name)
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px: {wide}"
            if name == "phone-asset":
                await read_well_on_a_phone(page)
        tab.guard.check()


CUT_BADGES = """() => [...document.querySelectorAll('.hit .badge')].filter(badge => {
    // where the badge's last characters (its confidence) are laid out, clipped or not
    const walk = document.createTreeWalker(badge, NodeFilter.SHOW_TEXT);
    let last = null;
    while (walk.nextNode()) if (walk.currentNode.length) last = walk.currentNode;
    const tail = document.createRange();
    tail.setStart(last, Math.max(0, last.length - 3));
    tail.setEnd(last, last.length);
    return tail.getBoundingClientRect().right > badge.getBoundingClientRect().right + 0.5;
}).map(badge => badge.textContent)"""


async def long_top_labels(route: Route) -> None:
    """The search's answer with each hit's top label named as the longest ImageNet names are."""
    response = await route.fetch()
    body = await response.json()
    search = (body.get("data") or {}).get("search")
    for edge in search["edges"] if search else []:
        for label in edge["node"]["topLabels"]:
            label["name"] = "Wire-Haired Fox Terrier"
    await route.fulfill(response=response, json=body)


async def test_search_badges_show_the_confidence_on_a_phone(world: World, chromium: Browser) -> None:
    async with open_tab(chromium, width=390, height=844) as tab:
        page = tab.page
        await sign_in(page, world.base, world.key)
        await page.route("**/graphql", long_top_labels)
        await page.reload()
        assert len(await hits(page)) >= 5
        await expect(page.locator(".hit .badge").first).to_contain_text("Wire-Haired Fox Terrier")
        # Before: a long name pushed its percentage out of the badge ("Egyptian M…").
        assert await page.evaluate(CUT_BADGES) == []
        await screenshot(page, "phone-search-badges")
        tab.guard.check()


async def boxes_at_the_right_edge(route: Route) -> None:
    """The asset's answer with every object and text box moved to the picture's right edge (the worst
    place for a caption), each line of text made long."""
    response = await route.fetch()
    body = await response.json()
    asset = (body.get("data") or {}).get("asset")
    if asset:
        edge = {"left": 0.86, "width": 0.12}
        for label in asset["labels"]:
            for instance in label["instances"]:
                instance["boundingBox"].update(edge)
        for line in asset["textDetections"]:
            line["boundingBox"].update(edge)
            line["text"] = f"{line['text']} and a long line of more words read on it"
    await route.fulfill(response=response, json=body)


async def test_box_captions_stay_inside_the_picture_on_a_phone(world: World, chromium: Browser) -> None:
    """Captions ("Person 60%", a long line of text read) of a box near the picture's right edge ended past
    it and made the whole page scroll sideways (403 px on a 390 px phone); they end inside it now."""
    async with open_tab(chromium, width=390, height=844) as tab:
        page = tab.page
        await sign_in(page, world.base, world.key)
        await page.route("**/graphql", boxes_at_the_right_edge)
        for name in ("astronaut.jpg", "memo.png"):
            await page.goto(f"{world.base}/assets/{world.ids[name]}")
            await expect(page.get_by_role("heading", name=name)).to_be_visible()
            await page.wait_for_function(
                "() => document.querySelector('.stage img')?.getBoundingClientRect().width > 0"
            )
            await expect(
                page.locator(".box.object" if name == "astronaut.jpg" else ".box.text")
            ).not_to_have_count(0)
            outside = await page.evaluate(
                """() => {
                    const pic = document.querySelector('.stage img').getBoundingClientRect();
                    return [...document.querySelectorAll('.box span')].filter(s => {
                        const r = s.getBoundingClientRect();
                        return r.left < pic.left - 1 || r.right > pic.right + 1;
                    }).map(s => s.textContent);
                }"""
            )
            await screenshot(page, f"phone-captions-{name.split('.')[0]}")
            assert outside == [], f"{name}: captions past the picture: {outside}"
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{name} is {width}px wide on a 390px screen"
        tab.guard.check()


async def read_well_on_a_phone(page: Page) -> None:
    """The asset page at phone width: the labels right after the picture, before the run history, and each
    run's model version whole on the screen (wrapped, not cut off in a table wider than the phone)."""
    top = "(name) => document.getElementById(name).getBoundingClientRect().top"
    picture = await page.evaluate("() => document.querySelector('.stage').getBoundingClientRect().bottom")
    labels, faces, runs = [await page.evaluate(top, h) for h in ("labels-h", "faces-h", "runs-h")]
    assert picture <= labels < faces < runs
    rows = page.get_by_role("region", name="Recognition runs").get_by_role("row")
    cut = await rows.evaluate_all(
        """(rows) => rows.flatMap(r => [...r.querySelectorAll('td')]).filter(c => {
            const box = c.getBoundingClientRect();
            return box.left < 0 || box.right > innerWidth || c.scrollWidth > c.clientWidth;
        }).map(c => c.textContent)"""
    )
    versions = await rows.evaluate_all("(rows) => rows.map(r => r.cells[1].textContent)")  # [0]: the header
    assert len(versions) >= 8 and any("efficientnet-lite0" in v for v in versions)
    assert cut == [], f"runs cut off at phone width: {cut}"


async def test_text_in_the_image_is_found_and_boxed(world: World, tab: Tab) -> None:
    page = tab.page
    await sign_in(page, world.base, world.key)
    await page.get_by_label("Filter by").select_option("text")
    await page.get_by_label("Filter value").fill("quarterly report")
    await page.get_by_role("button", name="Add filter").click()
    await page.wait_for_url("**/?text=quarterly+report")
    assert await hits(page) == [world.ids["memo.png"]]
    await page.locator(".hit .thumb").first.click()
    await page.wait_for_url(f"**/assets/{world.ids['memo.png']}")
    await expect(page.get_by_role("region", name="Text in the image")).to_contain_text("Quarterly report")
    await expect(page.locator(".box.text")).not_to_have_count(0)
    # a page of text is a Document, and the text recognizer is named among the labels' models
    labels = page.get_by_role("region", name="Labels")
    await expect(labels.locator("li").first).to_contain_text("Document")
    await expect(labels.locator(".provenance")).to_contain_text("rapidocr")
    await screenshot(page, "asset-memo")

    # Found by its words, a hit says so (no label matched it)
    await page.goto(f"{world.base}/?q=quarterly")
    memo = page.locator(f".hit[data-asset-id='{world.ids['memo.png']}']")
    await memo.locator(".thumb").hover()
    await expect(memo.locator(".why")).to_contain_text("words found")
