"""Review benchmark: the reviewer page in Chromium, and the server's answer rate from concurrent reviewers.

Set-up (not timed): a data dir with a tenant, N assets with Pillow-made previews, a verify task on each,
reviewers with keys; then `mediasight serve --no-worker` on a loopback port, as a user runs it.
Timed:
- page: Debian's Chromium (Playwright) signs in as a reviewer, opens /review and answers every task with
  scripted key presses (y / n); the page records key press → next image decoded and painted;
- server: R reviewers answer concurrently over HTTP (nextReviewTasks, then submitReview per item) until
  the tasks of a second tenant have k answers each.
Last line:
    review tasks=N key_p50_ms=A key_p95_ms=B answers=M reviewers=R answers_per_s=X server_cpu_s=C
      answers_per_cpu_s=Y load=L
answers_per_s is wall-clock (the reviewers' HTTP clients share the machine with the server); answers_per_cpu_s
divides the answers by the CPU time the server process used meanwhile (Linux /proc): the rate one core
would serve, however busy the machine is (load: the 1-minute load average at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import Asset, Rendition, Stage
from catalog.domain.review.tasks import QuestionKind, ReviewRules
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEXT = "query ($n: Int!) { nextReviewTasks(count: $n) { id question { kind } } }"
SUBMIT = """mutation ($t: ID!, $a: ReviewAnswerInput!) { submitReview(taskId: $t, answer: $a) {
  accepted error { code } } }"""


def preview(rng: random.Random, n: int) -> bytes:
    """A 640×480 JPEG unlike its neighbours (so the browser cannot reuse a decoded image)."""
    image = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        box = sorted(rng.randrange(640) for _ in range(2)), sorted(rng.randrange(480) for _ in range(2))
        draw.ellipse(
            [box[0][0], box[1][0], box[0][1], box[1][1]], fill=tuple(rng.randrange(256) for _ in range(3))
        )
    draw.text((20, 20), f"task {n}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def tenant_with_tasks(services: Services, name: str, n: int, rng: random.Random) -> str:
    tenant = (await services.catalog.create_tenant(name)).id
    await services.review.store.set_review_rules(tenant, ReviewRules(answers_per_task=3, gold_rate=0.0))
    ids = []
    for i in range(n):
        data = preview(rng, i)
        asset_id, key = uuid7(), f"renditions/{tenant}/{i}/preview.jpg"
        await services.blobs.put(key, data, "image/jpeg")
        now = utcnow()
        fields = (asset_id, tenant, f"{i:064x}", len(data), "image/jpeg", 640, 480, f"photo{i}.jpg", key)
        rendition = Rendition("preview", key, 640, 480)
        asset = Asset(*fields, now, now, status=Stage.INDEXED, renditions=(rendition,))
        await services.catalog.register_asset(asset)
        ids.append(asset_id)
    for start in range(0, n, 1000):
        await services.review.tasks.request(tenant, ids[start : start + 1000], QuestionKind.VERIFY, "Giraffe")
    return tenant


@dataclass
class Prepared:
    page_key: str
    crowd_keys: list[str]


async def prepare(settings: Settings, tasks: int, reviewers: int) -> Prepared:
    services = build(settings)
    try:
        rng = random.Random(5)
        page_tenant = await tenant_with_tasks(services, "page", tasks, rng)
        crowd_tenant = await tenant_with_tasks(services, "crowd", tasks, rng)
        page_key, _ = await services.review.reviewers.add(page_tenant, "page reviewer")
        crowd = [(await services.review.reviewers.add(crowd_tenant, f"r{i}"))[0] for i in range(reviewers)]
        return Prepared(page_key, crowd)
    finally:
        services.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def shown(page: Any, count: int, patience: float = 10.0) -> None:
    """Until the page has recorded `count` key → image timings (polled: the page's CSP forbids the string
    predicates of wait_for_function, and the timing itself is taken in the page)."""
    deadline = time.monotonic() + patience
    while await page.evaluate("(window.__reviewTimings || []).length") < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page showed {count - 1} images, then nothing for {patience} s")
        await asyncio.sleep(0.005)


async def page_round(base: str, key: str, tasks: int) -> list[float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await page.goto(base + "/review")
        await page.wait_for_url("**/signin**")
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_selector(".review-image img")
        for i in range(tasks):
            await page.wait_for_selector(".review-image img")
            await page.keyboard.press("y" if i % 3 else "n")
            if i < tasks - 1:  # the last answer leaves no next image to wait for
                await shown(page, i + 1)
        timings: list[float] = await page.evaluate("window.__reviewTimings || []")
        await browser.close()
    return timings


async def crowd_round(base: str, keys: list[str]) -> tuple[int, float]:
    """(answers accepted, seconds) for the reviewers answering concurrently until no task is left."""
    answered = 0

    async def reviewer(key: str) -> None:
        nonlocal answered
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            while True:
                got = (await client.post("/graphql", json={"query": NEXT, "variables": {"n": 10}})).json()
                items = got["data"]["nextReviewTasks"]
                if not items:
                    return
                for item in items:
                    body = {"query": SUBMIT, "variables": {"t": item["id"], "a": {"verdict": "YES"}}}
                    result = (await client.post("/graphql", json=body)).json()["data"]["submitReview"]
                    answered += int(result["accepted"])

    start = time.perf_counter()
    await asyncio.gather(*(reviewer(k) for k in keys))
    return answered, time.perf_counter() - start


async def main(tasks: int, reviewers: int, browser: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        data = Path(tmp) / "data"
        settings = Settings(data_dir=data, analyzers="labels", semantic_search=False)
        prepared = await prepare(settings, tasks, reviewers)
        port = free_port()
        env = {**os.environ, "MEDIASIGHT_DATA_DIR": str(data), "MEDIASIGHT_SEMANTIC_SEARCH": "false",
               "MEDIASIGHT_ANALYZERS": "labels"}  # fmt: skip
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
            [sys.executable, "-m", "mediasight", "--log-level", "WARNING", "serve", "--no-worker",
             "--host", "127.0.0.1", "--port", str(port)], env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as probe:
                for _ in range(300):
                    try:
                        await probe.get(base + "/signin")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            timings = await page_round(base, prepared.page_key, tasks) if browser else []
            cpu_before = cpu_seconds(server.pid)
            answers, seconds = await crowd_round(base, prepared.crowd_keys)
            server_cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
    p50 = statistics.median(timings) if timings else float("nan")
    p95 = statistics.quantiles(timings, n=20)[18] if len(timings) >= 2 else float("nan")
    print(f"review tasks={tasks} key_p50_ms={p50:.1f} key_p95_ms={p95:.1f} answers={answers} "
          f"reviewers={reviewers} answers_per_s={answers / seconds:.0f} server_cpu_s={server_cpu:.2f} "
          f"answers_per_cpu_s={answers / server_cpu:.0f} load={os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=500, help="tasks per tenant (page and crowd)")
    parser.add_argument("--reviewers", type=int, default=8, help="concurrent reviewers answering over HTTP")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium page round")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.reviewers, not args.no_browser))
