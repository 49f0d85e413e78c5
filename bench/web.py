"""Web benchmark: how soon the search page is usable after navigation, in headless Chromium (Playwright
driving Debian's chromium) against `mediasight serve` in its own process, on a synthetic archive built as
bench/search.py builds it (every asset gets a real JPEG thumbnail; eight distinct ones are shared).

For each run a signed-in tab navigates to a search page and the page reports, from the start of navigation:
    ready      60 result cards rendered (the page marks `mediasight:results`; the app is interactive then)
    viewport   every thumbnail in the first screen decoded (the rest load lazily as one scrolls)
Pages: `/?label=animal` (the headline: a label, as filters and facet clicks make it), `/` (browsing) and
`/?q=animal` (free text: words, the label and the text's meaning against every document's vector, answered
over the tenant's columns in memory; the warm-up reads them, and repeats of a search reuse its hit sets and
embedding, as a next page does). The first navigation (cold: bundle and style fetched) is reported apart.
Last line (headline page):
    web assets=N ready_p50_ms=A ready_p95_ms=B viewport_p95_ms=C cold_ready_ms=D
The machine may be shared: the load average is printed with the timings. --data-dir keeps the built store.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.async_api import Page, async_playwright
from skimage import data as samples

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from bench.search import build_store, load, pct
from catalog.domain.model import ALL_SCOPES
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.keys import issue_key
from tests.api.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import free_port

PAGE = 60
PAGES = {  # the headline: a label search (filters and facet clicks make these); then browsing, free text
    "label": "/?label=animal",
    "browse": "/",
    "text": "/?q=animal",
}
PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "coins", "immunohistochemistry", "moon")

MEASURE = """async () => {
  const since = performance.timeOrigin;
  for (let i = 0; i < 12000 && !performance.getEntriesByName("mediasight:results").length; i++)
    await new Promise(r => setTimeout(r, 5));
  const ready = performance.getEntriesByName("mediasight:results")[0];
  const cards = document.querySelectorAll(".hit").length;
  const visible = [...document.querySelectorAll(".hit img")]
    .filter(i => i.getBoundingClientRect().top < innerHeight);
  await Promise.all(visible.map(i => i.decode().catch(() => null)));
  const api = performance.getEntriesByType("resource").filter(e => e.name.endsWith("/graphql"));
  // The page's search: the slower of its two API calls (the other asks viewer { scopes }).
  const search = api.reduce((a, e) => (!a || e.duration > a.duration ? e : a), null);
  return { ready: ready ? ready.startTime : -1, viewport: performance.now(), cards, visible: visible.length,
           search: search ? search.responseEnd - search.startTime : -1,
           searchStart: search ? search.startTime : -1 };
}"""


async def add_thumbnails(services: Services) -> None:
    """Real 256-px JPEG thumbnails for every asset: eight blobs, each asset pointing at one of them."""
    for i, name in enumerate(PHOTOS):
        img = Image.fromarray(getattr(samples, name)()).convert("RGB")
        img.thumbnail((256, 256))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=82)
        await services.blobs.put(f"bench/thumb-{i}.jpg", buf.getvalue(), "image/jpeg")
    db = services.catalog._db  # type: ignore[attr-defined]  # bench-only: bulk rows, same schema
    rendition = """'[["thumbnail", "bench/thumb-' || (rowid % 8) || '.jpg", 256, 192, "image/jpeg"]]'"""
    await db.write(lambda c: c.execute(f"UPDATE assets SET renditions = {rendition}"))


async def prepare(data_dir: Path, assets: int) -> str:
    """The archive (built once into data_dir) and a fresh key of its largest tenant."""
    services = build(Settings(data_dir=data_dir, semantic_search=False))
    try:
        found = await services.catalog.get_tenant_by_name("tenant0")
        if found is None:
            t0 = time.perf_counter()
            tenant = (await build_store(services, assets, 5, seed=1))[0]
            await add_thumbnails(services)
            print(f"built {assets} assets in {time.perf_counter() - t0:.0f} s", flush=True)
        else:
            tenant = found.id
        print(f"largest tenant: {await services.index.count(tenant)} documents")
        secret, _ = await issue_key(services.catalog, tenant, ALL_SCOPES, "bench-web")
        return secret
    finally:
        services.close()


async def warm_up(base: str, key: str) -> None:
    """One search before timing: the server loads its text model on the first text query (seconds), and
    SQLite's pages come into the cache. "Cold" below then means a browser without the bundle cached."""
    query = '{ search(query: "animal", first: 60) { totalCount } }'
    async with httpx.AsyncClient(timeout=120) as client:
        for _ in range(300):
            try:
                response = await client.post(
                    f"{base}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}
                )
                break
            except httpx.TransportError:  # not listening yet
                await asyncio.sleep(0.2)
        assert response.status_code == 200 and "errors" not in response.json(), response.text


async def sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(f"{base}/signin")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/")


async def navigations(page: Page, url: str, runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        await page.goto("about:blank")
        await page.goto(url, wait_until="commit")
        got = await page.evaluate(MEASURE)
        assert got["cards"] == PAGE and got["ready"] > 0, (url, got)
        out.append(got)
    return out


async def measure(base: str, key: str, runs: int) -> dict[str, list[dict[str, float]]]:
    """Timings by page: the first navigation of the headline page is the cold one."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        outside: list[str] = []

        async def loopback_only(route):  # type: ignore[no-untyped-def]
            if route.request.url.startswith(base) or route.request.url.startswith("data:"):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await context.route("**/*", loopback_only)
        page = await context.new_page()
        await sign_in(page, base, key)
        found = {"cold": await navigations(page, base + PAGES["label"], 1)}
        for name, path in PAGES.items():
            found[name] = await navigations(page, base + path, runs if name == "label" else max(2, runs // 3))
        await browser.close()
        assert not outside, f"requests left 127.0.0.1: {outside}"
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="timed navigations of the headline page")
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) the built store here")
    args = parser.parse_args()
    tmp = None if args.data_dir else tempfile.TemporaryDirectory(prefix="mediasight-web-")
    data_dir = args.data_dir or Path(tmp.name) / "data"  # type: ignore[union-attr]
    key = await prepare(data_dir, args.assets)
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, "-m", "mediasight", "--log-level", "WARNING", "--data-dir", str(data_dir), "serve",
         "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await warm_up(base, key)
        found = await measure(base, key, args.runs)
    finally:
        server.terminate()
        server.wait(timeout=20)
    cold = found["cold"][0]
    print(f"cold {PAGES['label']}: ready {cold['ready']:.0f} ms, first screen {cold['viewport']:.0f} ms")
    print("page (warm)              runs  ready p50   p95  screen p50   p95  search at p50  search p50   p95")
    for name, path in PAGES.items():
        got = found[name]
        ready, screen = [r["ready"] for r in got], [r["viewport"] for r in got]
        starts, search = [r["searchStart"] for r in got], [r["search"] for r in got]
        print(
            f"  {path:<22} {len(ready):5} {pct(ready, 50):10.0f} {pct(ready, 95):5.0f} "
            f"{pct(screen, 50):11.0f} {pct(screen, 95):5.0f} {pct(starts, 50):14.0f} "
            f"{pct(search, 50):11.0f} {pct(search, 95):5.0f}"
        )
    print(f"{found['label'][0]['visible']} thumbnails in the first screen; {load()}")
    ready = [r["ready"] for r in found["label"]]
    viewport = [r["viewport"] for r in found["label"]]
    print(
        f"web assets={args.assets} ready_p50_ms={pct(ready, 50):.0f} ready_p95_ms={pct(ready, 95):.0f} "
        f"viewport_p95_ms={pct(viewport, 95):.0f} cold_ready_ms={cold['ready']:.0f}"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
