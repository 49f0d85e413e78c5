"""Ingest benchmark: the whole pipeline against the irreducible work, on the same images, in one run.

Pipeline: read the file once (SHA-256 and probe in the same step), store the original, register it with
its job, decode once (draft mode), preview + thumbnail,
labels, catalog writes, index — through the same Ingestor and Worker that `mediasight ingest --wait` uses.
Raw: for each image, the one decode the pipeline cannot avoid (draft mode, to the preview size) plus model
input preparation and inference, with the same thread pool.
Pool work: the pipeline's own pixel work on each file, one task per image on the same pool, with none of
its coordination (catalog, index, file writes, event loop hops): read + SHA-256 + probe, the decode,
renditions and picture of Pipeline.process, labels. Its ratio to raw is the floor of this design: what
content addressing and renditions cost; the rest of overhead_ratio is coordination. Last line:
    ingest images=N images_per_s=X raw_images_per_s=Y overhead_ratio=Z pool_work_ratio=W
        cpu_ms_per_image=C raw_cpu_ms_per_image=R load=L     (one line)
(Z = Y / X; W = Y / the pool work's images per second; C and R: CPU time of this process per image within
each side's timed window, as its wall time is (the pipeline's services built and closed, the raw side's
files read, are not counted); load inflates it less than wall time; L: the 1-minute load average at the
end.)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from catalog.domain.model import Stage
from indexer.cpu import CpuPool
from indexer.ingest_examine import read_file
from indexer.pipeline import decode_and_render
from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.renditions import PREVIEW_MAX, PREVIEW_MIN, decode
from indexer.worker import Worker
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.keys import hash_api_key, new_api_key

T = TypeVar("T")

PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "cat",
    "immunohistochemistry",
    "retina",
    "hubble_deep_field",
)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have exited (the exiv2 child
    counts once the services are closed)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cpu_summary(images: int, pipeline_cpu_s: float, raw_cpu_s: float) -> str:
    """The summary line's CPU and load fields (see the module doc)."""
    return (
        f"cpu_ms_per_image={pipeline_cpu_s * 1000 / images:.0f} "
        f"raw_cpu_ms_per_image={raw_cpu_s * 1000 / images:.0f} load={os.getloadavg()[0]:.2f}"
    )


def make_images(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """Real photos (scikit-image) scaled to `size`, with grain so each file is distinct and compresses
    like a camera JPEG (quality 90)."""
    from skimage import data as samples

    rng = np.random.default_rng(7)
    paths = []
    for i in range(count):
        photo = getattr(samples, PHOTOS[i % len(PHOTOS)])()
        img = Image.fromarray(photo).convert("RGB").resize(size, Image.Resampling.BICUBIC)
        grain = rng.normal(0, 6, (size[1], size[0], 3))
        arr = np.clip(np.asarray(img, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
        path = folder / f"photo_{i:03d}.jpg"
        Image.fromarray(arr).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def raw_one(labeler: EfficientNetLabeler, data: bytes) -> None:
    image = decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN)
    labeler.predict(labeler.prepare(image)[None], min_confidence=50, max_labels=20)


def pool_work_one(labeler: EfficientNetLabeler, path: Path) -> None:
    """The pipeline's pixel work on one file (see the module doc), at the default settings' limits."""
    limits = Settings.model_fields
    max_pixels = limits["max_pixels"].default
    read = read_file(path, max_bytes=limits["max_upload_bytes"].default, max_pixels=max_pixels)
    assert read.data is not None and read.examined is not None and read.examined.info is not None
    _, pictures = decode_and_render(read.data, frozenset({labeler.input_size}), max_pixels)
    labeler.predict(labeler.prepare(pictures[labeler.input_size])[None], min_confidence=50, max_labels=20)


async def on_pool(work: Callable[[T], None], items: Sequence[T], threads: int) -> tuple[float, float]:
    """(images per second, CPU seconds) of work on each item, `threads` at a time on a CpuPool."""
    pool = CpuPool(threads)
    try:
        start, cpu_start = time.perf_counter(), cpu_seconds()
        await asyncio.gather(*(pool.run(work, item) for item in items))
        return len(items) / (time.perf_counter() - start), cpu_seconds() - cpu_start
    finally:
        pool.close()


async def raw(paths: list[Path], labeler: EfficientNetLabeler, threads: int) -> tuple[float, float]:
    """(images per second, CPU seconds) of the timed window."""
    blobs = [p.read_bytes() for p in paths]
    return await on_pool(functools.partial(raw_one, labeler), blobs, threads)


async def pool_work(paths: list[Path], labeler: EfficientNetLabeler, threads: int) -> tuple[float, float]:
    """(images per second, CPU seconds) of the pipeline's pool work alone (see the module doc)."""
    return await on_pool(functools.partial(pool_work_one, labeler), paths, threads)


class JobsEnded:
    """How many jobs a worker has ended (done, failed or put back) since this was made."""

    def __init__(self, worker: Worker) -> None:
        self.count = 0
        self.stop = worker.finished.subscribe(self._one)

    def _one(self) -> None:
        self.count += 1


async def wait_all_indexed(
    services: Services, worker: Worker, tenant_id: str, ids: list[str], ended: JobsEnded | None = None
) -> None:
    """Until every asset is INDEXED or FAILED (a benchmark with failed assets measures nothing), asking the
    catalog after each job, or with `ended` only once the worker has ended as many jobs as there are
    assets: counting after every job (40 queries of 40 IDs) is harness work charged to a timed pipeline,
    and `ingest --wait` counts at most 5 times a second."""
    counts: dict[Stage, int] = {}

    async def finished() -> bool:
        if ended is not None and ended.count < len(ids):
            return False
        counts.update(Counter((await services.catalog.stages_of(tenant_id, ids)).values()))
        return counts.get(Stage.INDEXED, 0) + counts.get(Stage.FAILED, 0) == len(ids)

    await worker.until(finished, poll_seconds=0.05)
    assert counts.get(Stage.FAILED, 0) == 0, "some assets failed"


async def pipeline(
    paths: list[Path], data_dir: Path, labeler: EfficientNetLabeler, threads: int
) -> tuple[float, float]:
    """(images per second, CPU seconds) from the first ingest to the last asset indexed. Labels only, like
    the raw side: bench/analyzers.py measures the full recognizer suite."""
    settings = Settings(
        data_dir=data_dir,
        cpu_threads=threads,
        worker_concurrency=8,
        analyzers="labels",
        semantic_search=False,
    )
    services = build(settings, labeler=labeler)
    try:
        tenant = await services.catalog.create_tenant("bench")
        await services.catalog.add_api_key(tenant.id, hash_api_key(new_api_key()))
        stop = asyncio.Event()
        start, cpu_start = time.perf_counter(), cpu_seconds()
        worker = services.worker()
        ended = JobsEnded(worker)  # before the first job can end
        running = asyncio.create_task(worker.run(stop))
        sem = asyncio.Semaphore(threads * 2)

        async def one(path: Path) -> str:
            async with sem:  # as `mediasight ingest` does: from the file, 2 per CPU thread at once
                outcome = await services.ingestor.ingest_file(tenant.id, path, path.name)
            assert outcome.asset is not None, outcome.error
            return outcome.asset.id

        ids = await asyncio.gather(*(one(p) for p in paths))
        await wait_all_indexed(services, worker, tenant.id, ids, ended)
        ended.stop()
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        stop.set()
        await running
        assert await services.index.count(tenant.id) == len(ids)
        return len(paths) / elapsed, cpu
    finally:
        services.close()


def stage_latencies(labeler: EfficientNetLabeler, path: Path) -> dict[str, float]:
    data = path.read_bytes()
    timings: dict[str, list[float]] = {"decode": [], "prepare": [], "infer": []}
    for _ in range(5):
        t0 = time.perf_counter()
        image = decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN)
        t1 = time.perf_counter()
        batch = labeler.prepare(image)[None]
        t2 = time.perf_counter()
        labeler.predict(batch, min_confidence=50, max_labels=20)
        t3 = time.perf_counter()
        for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            value_ms = value * 1000
            timings[key].append(value_ms)
    return {k: statistics.median(v) for k, v in timings.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=40, help="number of images (default 40)")
    parser.add_argument("--width", type=int, default=4000, help="image width (default 4000: 12 MP at 4:3)")
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for decode and inference")
    parser.add_argument("--rounds", type=int, default=3, help="alternating raw/pipeline rounds (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        print(f"making {args.images} JPEGs of {args.width}x{args.height} ...", flush=True)
        paths = make_images(root / "images", args.images, (args.width, args.height))
        mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        labeler = EfficientNetLabeler(root / "models")
        labeler.predict(labeler.prepare(Image.new("RGB", (64, 64)))[None], min_confidence=0, max_labels=1)
        lat = stage_latencies(labeler, paths[0])
        print(
            f"per image (1 thread, median): decode {lat['decode']:.1f} ms, prepare {lat['prepare']:.1f} ms, "
            f"inference {lat['infer']:.1f} ms; mean file {mb:.1f} MB",
            flush=True,
        )
        # Rounds alternate the sides so all see the same machine; each side reports its median.
        raw_rates, pipe_rates, pool_rates = [], [], []
        raw_cpu, pipe_cpu = [], []
        for round_no in range(args.rounds):
            rate, cpu = await raw(paths, labeler, args.threads)
            raw_rates.append(rate)
            raw_cpu.append(cpu)
            pool_rates.append((await pool_work(paths, labeler, args.threads))[0])
            rate, cpu = await pipeline(paths, root / f"data{round_no}", labeler, args.threads)
            pipe_rates.append(rate)
            pipe_cpu.append(cpu)
            print(
                f"round {round_no + 1}: raw {raw_rates[-1]:.2f}/s, pool work {pool_rates[-1]:.2f}/s, "
                f"pipeline {pipe_rates[-1]:.2f}/s",
                flush=True,
            )
        raw_rate, pipe_rate = statistics.median(raw_rates), statistics.median(pipe_rates)
        pool_rate = statistics.median(pool_rates)
        print(
            f"ingest images={len(paths)} images_per_s={pipe_rate:.2f} raw_images_per_s={raw_rate:.2f} "
            f"overhead_ratio={raw_rate / pipe_rate:.2f} pool_work_ratio={raw_rate / pool_rate:.2f} "
            + cpu_summary(len(paths), statistics.median(pipe_cpu), statistics.median(raw_cpu))
        )


if __name__ == "__main__":
    asyncio.run(main())
