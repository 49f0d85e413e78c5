"""Web benchmark: how soon the search page is usable after navigation, in headless Chromium (Playwright
driving Debian's chromium) against `mediasight serve` in its own process, on a synthetic archive built as
bench/search.py builds it (every asset gets a real JPEG thumbnail; eight distinct ones are shared).

For each run a signed-in tab navigates to the search page for a label query and the page reports, from
the start of navigation:
    ready      60 result cards rendered (the page marks `mediasight:results`; the app is interactive then)
    viewport   every thumbnail in the first screen decoded (the rest load lazily as one scrolls)
The first navigation (cold: bundle and style fetched) is reported apart. Last line:
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
QUERY = "/?q=animal"
PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "coins", "immunohistochemistry", "moon")

MEASURE = """async () => {
  const since = performance.timeOrigin;
  for (let i = 0; i < 600 && !performance.getEntriesByName("mediasight:results").length; i++)
    await new Promise(r => setTimeout(r, 5));
  const ready = performance.getEntriesByName("mediasight:results")[0];
  const cards = document.querySelectorAll(".hit").length;
  const visible = [...document.querySelectorAll(".hit img")]
    .filter(i => i.getBoundingClientRect().top < innerHeight);
  await Promise.all(visible.map(i => i.decode().catch(() => null)));
  return { ready: ready ? ready.startTime : -1, viewport: performance.now(), cards, visible: visible.length };
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


async def sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(f"{base}/signin")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/")


async def measure(base: str, key: str, runs: int) -> tuple[dict[str, float], list[dict[str, float]]]:
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
        results = []
        for _ in range(runs + 1):
            await page.goto("about:blank")
            await page.goto(base + QUERY, wait_until="commit")
            got = await page.evaluate(MEASURE)
            assert got["cards"] == PAGE and got["ready"] > 0, got
            results.append(got)
        await browser.close()
        assert not outside, f"requests left 127.0.0.1: {outside}"
    return results[0], results[1:]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="timed navigations (after one cold one)")
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
        for _ in range(600):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        cold, warm = await measure(base, key, args.runs)
    finally:
        server.terminate()
        server.wait(timeout=20)
    ready = [r["ready"] for r in warm]
    viewport = [r["viewport"] for r in warm]
    first_screen = f"first screen {cold['viewport']:.0f} ms ({cold['visible']} thumbnails)"
    print(f"cold: ready {cold['ready']:.0f} ms, {first_screen}")
    print(f"warm ({len(warm)} runs)   p50 ms   p95 ms   max ms")
    for name, values in (("60 results ready", ready), ("first screen decoded", viewport)):
        print(f"  {name:<20} {pct(values, 50):8.0f} {pct(values, 95):8.0f} {max(values):8.0f}")
    print(f"{warm[0]['visible']} thumbnails in the first screen; {load()}")
    print(
        f"web assets={args.assets} ready_p50_ms={pct(ready, 50):.0f} ready_p95_ms={pct(ready, 95):.0f} "
        f"viewport_p95_ms={pct(viewport, 95):.0f} cold_ready_ms={cold['ready']:.0f}"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
