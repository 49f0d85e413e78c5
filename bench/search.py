"""Search benchmark: a synthetic catalog in the embedded store, queried through the port and over HTTP.

Labels are realistic: each asset gets a probability vector over the 1000 ImageNet classes (a Dirichlet
concentrated on 1–3 classes drawn Zipf-wise) turned into labels by the same aggregation the local labeler
uses (hierarchy levels with summed confidence, MinConfidence 50, MaxLabels 20). Tenants are uneven: the
largest holds 60 % of the assets. --guesses gives that share of the assets a model's guess besides:
another asset's first label, with its parents, at 25–49 (the detector's Dining Table 34 under a coffee
cup), which label facets and label filters leave out. Queries run against the largest tenant. Last line:
    search assets=N p50_ms=A p95_ms=B p99_ms=C graphql_p95_ms=D graphql_ratio=E counts_cpu_ms=F
(A–C: the headline query raw through the search port — label + min confidence + tenant, with label facets;
D: the same query through GraphQL over HTTP, E = D / B. When the raw query takes a few milliseconds, E
mostly measures the fixed cost of HTTP + GraphQL, not the index. F: the catalog's side of the overview
page, the largest tenant's asset counts by stage (`stage_counts`, what `assetCounts` reads), CPU ms per call,
median; the catalog also holds a video's keyframes (--keyframes per asset, rows with no index document),
which the counts and listings by status leave out.) The load average is printed with the timings: the
machine may be shared. --data-dir keeps the built store for later runs (a store built by an older version
has its search index migrated when opened).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.progress import Progress, TaskID

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from catalog.domain.model import ALL_SCOPES, Asset, Stage, VersionRelation
from catalog.domain.ports import IndexDocument, SearchQuery, SortOrder
from catalog.sqlite.catalog import _ASSET_COLUMNS, _asset_row  # bench-only: bulk rows, same schema
from indexer.recognizers.local.labels import Taxonomy, aggregate
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.keys import issue_key
from tests.e2e.conftest import free_port

CHUNK = 5000
QUERIES = {  # every query computes the total and all four facets
    "label+conf+facets": SearchQuery(labels=("animal",), min_confidence=60, first=20),
    "rare label": SearchQuery(labels=("golden retriever",), first=20),
    "no filter": SearchQuery(first=20),
    "conf 60.5": SearchQuery(labels=("animal",), min_confidence=60.5, first=20),
    "newest, no moderated": SearchQuery(
        labels=("animal",), min_confidence=60, sort=SortOrder.CREATED, exclude_moderation=True, first=20
    ),
    "page 3": SearchQuery(labels=("animal",), min_confidence=60, first=20),  # after two pages
    "any of two": SearchQuery(labels=("dog", "cat"), first=20),
    "all of two": SearchQuery(all_labels=("dog", "pet"), first=20),
    "label, guesses too": SearchQuery(labels=("animal",), include_guesses=True, first=20),
    "text": SearchQuery(text="photo 4242", first=20),
    "text, common word": SearchQuery(text="animal", first=20),  # words and the label: most of the tenant
    "text + meaning": SearchQuery(text="animal", first=20),  # and its MiniLM embedding (added in main)
}
GRAPHQL = """{ search(filter: {labels: ["animal"], minConfidence: 60}, first: 20) {
  totalCount edges { score node { id filename } } facets { labels { value count } } } }"""


def synthetic_labels(
    rng: np.random.Generator, taxonomy: Taxonomy, n: int
) -> list[list[tuple[str, float, tuple[str, ...]]]]:
    zipf = 1.0 / np.arange(1, 1001) ** 0.8
    zipf /= zipf.sum()
    probs = np.full((n, 1000), 1e-5, dtype=np.float32)
    for i in range(n):
        k = rng.integers(1, 4)
        classes = rng.choice(1000, size=k, replace=False, p=zipf)
        probs[i, classes] += rng.dirichlet(np.ones(k)) * rng.uniform(0.5, 1.0)
    probs /= probs.sum(axis=1, keepdims=True)
    out = []
    for labels in aggregate(probs, taxonomy, min_confidence=50, max_labels=20):
        out.append([(lb.name, lb.confidence, lb.parents) for lb in labels])
    return out


def with_guesses(
    rng: np.random.Generator, docs: list[list[tuple[str, float, tuple[str, ...]]]], share: float
) -> list[list[tuple[str, float, tuple[str, ...]]]]:
    """`share` of the documents with a model's guess added: another document's first label and its parents
    (those the document lacks), each at one confidence of 25–49."""
    named = [labels[0] for labels in docs if labels]
    out = []
    for labels in docs:
        if named and rng.random() < share:
            name, _, parents = named[int(rng.integers(len(named)))]
            confidence = round(float(rng.uniform(25, 49.99)), 2)
            have = {n for n, _, _ in labels}
            guessed = [
                (name, confidence, parents),
                *((p, confidence, parents[i + 1 :]) for i, p in enumerate(parents)),
            ]
            labels = [*labels, *(lb for lb in guessed if lb[0] not in have)]
        out.append(labels)
    return out


class LabelMeanings:
    """A document's vector as semantic search stores one (384-d MiniLM, unit length), made cheaply: the
    confidence-weighted mean of its label names' embeddings, each name embedded once. Real documents embed
    a description of their metadata; what a bench needs is one vector per document, of the real model."""

    def __init__(self) -> None:
        from indexer.recognizers.local.text_embedding import MiniLmEmbedder

        self._embedder = MiniLmEmbedder()
        self._known: dict[str, np.ndarray] = {}

    def embed(self, text: str) -> tuple[float, ...]:
        return tuple(self._embedder.embed([text])[0].tolist())

    def of(self, docs: list[list[tuple[str, float, tuple[str, ...]]]]) -> list[tuple[float, ...]]:
        new = sorted({name for labels in docs for name, _, _ in labels} - self._known.keys())
        if new:
            self._known.update(zip(new, self._embedder.embed(new), strict=True))
        out: list[tuple[float, ...]] = []
        for labels in docs:
            if not labels:
                out.append(())
                continue
            mean = sum(conf * self._known[name] for name, conf, _ in labels)
            out.append(tuple((mean / np.linalg.norm(mean)).astype(np.float32).tolist()))
        return out


def keyframe_of(video: Asset, number: int) -> Asset:
    """A FRAME child a video's analysis would register: a catalog row with no index document."""
    return dataclasses.replace(
        video, id=f"{video.id[:-12]}{number:012d}", sha256=f"f{video.sha256[5:]}{number:04x}",
        filename=f"shot{number:03d}.jpg", parent_id=video.id, relation=VersionRelation.FRAME,
        frame_time=float(number),
    )  # fmt: skip


async def build_store(
    services: Services, n: int, tenants: int, seed: int, *, keyframes: float = 0.0, guesses: float = 0.0
) -> list[str]:
    """Tenants with assets in the catalog and documents in the index (one bulk rebuild, as `mediasight
    reindex` makes it: each chunk is made while the one before is written), each with a vector
    (`LabelMeanings`), and `keyframes` keyframe rows per asset in the catalog (a video's FRAME children:
    no documents); returns tenant IDs, largest first."""
    from catalog.domain.model import Label

    rng = np.random.default_rng(seed)
    taxonomy = Taxonomy.load()
    meanings = LabelMeanings()
    ids = [(await services.catalog.create_tenant(f"tenant{t}")).id for t in range(tenants)]
    shares = [0.6] + [0.4 / (tenants - 1)] * (tenants - 1) if tenants > 1 else [1.0]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    db = services.catalog._db  # type: ignore[attr-defined]  # bench-only: bulk rows, same schema

    async def chunks(progress: Progress, task: TaskID) -> AsyncIterator[list[IndexDocument]]:
        made = 0
        while made < n:
            size = min(CHUNK, n - made)
            labels = with_guesses(rng, synthetic_labels(rng, taxonomy, size), guesses)
            vectors = meanings.of(labels)
            assets, docs = [], []
            for i in range(size):
                tenant = ids[int(rng.choice(len(ids), p=shares))]
                number = made + i
                created = start + timedelta(minutes=number)
                asset = Asset(
                    id=f"{number:08d}-0000-7000-8000-000000000000", tenant_id=tenant, sha256=f"{number:064x}",
                    size_bytes=1, media_type="image/jpeg", width=1, height=1, filename=f"photo {number}.jpg",
                    blob_key="x", created_at=created, updated_at=created, status=Stage.INDEXED,
                )  # fmt: skip
                assets.append(asset)
                docs.append(
                    IndexDocument(tenant, asset.id, asset.filename, asset.media_type, created, None,
                                  tuple(Label(*lb) for lb in labels[i]), embedding=vectors[i])
                )  # fmt: skip
            frames = round(size * keyframes)  # as FRAME children of the chunk's first assets, 10 each
            rows = [_asset_row(a) for a in assets]
            rows += [_asset_row(keyframe_of(assets[k // 10], k % 10 + 1)) for k in range(frames)]
            insert = f"INSERT INTO assets ({_ASSET_COLUMNS}) VALUES ({','.join('?' * len(rows[0]))})"
            await db.write(lambda c, rows=rows, insert=insert: c.executemany(insert, rows))
            made += size
            progress.update(task, completed=made)
            yield docs

    with Progress() as progress:
        task = progress.add_task("building", total=n)
        await services.index.rebuild(chunks(progress, task))
    return ids


async def raw_latencies(
    services: Services, tenant: str, query: SearchQuery, runs: int, cpu: list[float] | None = None
) -> list[float]:
    """Wall ms of each run; the process's CPU ms of each into `cpu` (the search runs on a reader thread)."""
    out = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        await services.index.search(tenant, query)
        out.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return out


async def third_page(services: Services, tenant: str, query: SearchQuery) -> SearchQuery:
    for _ in range(2):
        page = await services.index.search(tenant, query)
        query = dataclasses.replace(query, after=page.end_cursor)
    return query


async def count_costs(services: Services, tenant: str, runs: int) -> tuple[list[float], list[float]]:
    """The tenant's asset counts by stage, as the overview page asks them: wall and CPU ms per call (the
    process's CPU: the catalog reads on its reader threads)."""
    await services.catalog.stage_counts(tenant)  # warm the page cache
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        await services.catalog.stage_counts(tenant)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


async def graphql_in_process(services: Services, tenant: str, runs: int) -> list[float]:
    """The headline query through schema.execute: resolvers, DataLoaders and execution, no HTTP."""
    from api.context import Context
    from api.schema import schema

    out = []
    for i in range(runs + 5):
        t0 = time.perf_counter()
        result = await schema.execute(GRAPHQL, context_value=Context(services=services, tenant_id=tenant))
        assert not result.errors, result.errors
        if i >= 5:
            out.append((time.perf_counter() - t0) * 1000)
    return out


async def timed_posts(port: int, secret: str, query: str, runs: int) -> list[float]:
    """POSTs over one keep-alive connection with a minimal HTTP/1.1 client, as a load generator would:
    a full client library (httpx) adds ~1.5 ms of its own per request, which is not the server's."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"query": query}).encode()
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    out = []
    try:
        for i in range(runs + 5):
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            fields = dict(line.lower().split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
            answer = await reader.readexactly(int(fields[b"content-length"]))
            if i >= 5:
                out.append((time.perf_counter() - t0) * 1000)
            assert head.startswith(b"HTTP/1.1 200") and b'"errors"' not in answer, answer[:300]
    finally:
        writer.close()
    return out


async def graphql_over_http(data_dir: Path, secret: str, runs: int) -> tuple[list[float], list[float]]:
    """`mediasight serve` in its own process: a trivial query (the HTTP floor), then the headline query."""
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, "-m", "mediasight", "--log-level", "WARNING", "--data-dir", str(data_dir), "serve",
         "--port", str(port), "--no-worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                await timed_posts(port, secret, "{ __typename }", 0)
                break
            except (OSError, EOFError):  # not listening yet
                await asyncio.sleep(0.2)
        floor = await timed_posts(port, secret, "{ __typename }", runs)
        return floor, await timed_posts(port, secret, GRAPHQL, runs)
    finally:
        server.terminate()
        server.wait(timeout=20)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--runs", type=int, default=100, help="timed runs per query")
    parser.add_argument(
        "--keyframes", type=float, default=0.1, help="video keyframes in the catalog per asset (no documents)"
    )
    parser.add_argument(
        "--guesses",
        type=float,
        default=0.25,
        help="share of assets that also carry a model's guess (under 50)",
    )
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) the built store here")
    args = parser.parse_args()
    tmp = None if args.data_dir else tempfile.TemporaryDirectory(prefix="mediasight-search-")
    data_dir = args.data_dir or Path(tmp.name) / "data"  # type: ignore[union-attr]
    settings = Settings(data_dir=data_dir, semantic_search=False)
    services = build(settings)
    try:
        tenants = [t.id for t in [await services.catalog.get_tenant_by_name("tenant0")] if t]
        if not tenants:
            t0 = time.perf_counter()
            tenants = await build_store(
                services, args.assets, args.tenants, seed=1, keyframes=args.keyframes, guesses=args.guesses
            )
            print(f"built {args.assets} assets in {time.perf_counter() - t0:.0f} s", flush=True)
        big = tenants[0]
        print(f"largest tenant: {await services.index.count(big)} documents; {load()}")
        print("query                    p50 ms   p95 ms   p99 ms  CPU p50 ms  total hits  label facets")
        headline: list[float] = []
        for name, query in QUERIES.items():
            if name == "page 3":
                query = await third_page(services, big, query)
            if name == "text + meaning":  # as `mediasight serve` asks it: with the text's embedding
                vector = LabelMeanings().embed(query.text or "")
                query = dataclasses.replace(query, text_embedding=vector)
            await services.index.search(big, query)  # warm the page cache
            cpu: list[float] = []
            lat = await raw_latencies(services, big, query, args.runs, cpu)
            found = await services.index.search(big, query)
            facets = sum(f.count for f in found.label_facets)  # what the label facets counted
            print(
                f"  {name:<21} {pct(lat, 50):8.1f} {pct(lat, 95):8.1f} {pct(lat, 99):8.1f}"
                f" {pct(cpu, 50):11.1f}  {found.total:>10}  {facets:>12}"
            )
            if name == "label+conf+facets":
                headline = lat
        counts_wall, counts_cpu = await count_costs(services, big, args.runs)
        counted = sum((await services.catalog.stage_counts(big)).values())
        print(
            f"  asset counts ({counted} assets) p50 {pct(counts_wall, 50):.2f} ms wall, "
            f"{pct(counts_cpu, 50):.2f} ms CPU; {load()}"
        )
        in_process = await graphql_in_process(services, big, args.runs)
        secret, _ = await issue_key(services.catalog, big, ALL_SCOPES, "bench")
    finally:
        services.close()
    floor, gql = await graphql_over_http(data_dir, secret, args.runs)
    p95, g95 = pct(headline, 95), pct(gql, 95)
    print("where the GraphQL time goes       p50 ms   p95 ms")
    for name, values in (
        ("raw search port", headline),
        ("GraphQL in process (no HTTP)", in_process),
        ("HTTP { __typename } (floor)", floor),
        ("GraphQL over HTTP", gql),
    ):
        print(f"  {name:<30} {pct(values, 50):8.1f} {pct(values, 95):8.1f}")
    print(load())
    print(
        f"search assets={args.assets} p50_ms={pct(headline, 50):.1f} p95_ms={p95:.1f} "
        f"p99_ms={pct(headline, 99):.1f} graphql_p95_ms={g95:.1f} graphql_ratio={g95 / p95:.2f} "
        f"counts_cpu_ms={pct(counts_cpu, 50):.2f}"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
