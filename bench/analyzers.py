"""Analyzer benchmark: the full pipeline with every local analyzer against the irreducible work.

Pipeline: ingest + worker exactly as `mediasight ingest --wait` runs them, with labels, objects, faces,
people, text, moderation, properties and the metadata embedding. Raw: per image, one decode (draft mode,
to the preview size) plus each model's inference called directly, in the same thread pool. Per-analyzer p50
latencies come from the durations the pipeline records with each result; the raw side's also in CPU ms of
the calling thread (what a loaded machine does not inflate). Both sides' CPU counts from after their
models are loaded (each side warms them on one image first). Last line:
    analyzers images=N images_per_s=X raw_images_per_s=Y overhead_ratio=Z
        cpu_ms_per_image=C raw_cpu_ms_per_image=R load=L     (one line)
(Z = Y / X; C, R and L as in bench/ingest.py: CPU time per image of each side, and the load average.)
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from bench.ingest import cpu_seconds, cpu_summary, make_images, wait_all_indexed
from indexer.cpu import CpuPool
from indexer.recognizers.local.faces import DlibFaceRecognizer
from indexer.recognizers.local.labels import EfficientNetLabeler
from indexer.recognizers.local.moderation import OpenNsfwModerator
from indexer.recognizers.local.objects import CenterNetDetector
from indexer.recognizers.local.people import DEFAULT_MIN_CONFIDENCE, people_from_objects
from indexer.recognizers.local.properties import image_properties
from indexer.recognizers.local.text import RapidOcrReader
from indexer.recognizers.local.text_embedding import MiniLmEmbedder
from indexer.renditions import PREVIEW_MAX, PREVIEW_MIN, decode
from mediasight.bootstrap import build
from mediasight.settings import Settings
from services.keys import hash_api_key, new_api_key

T = TypeVar("T")


class Models:
    def __init__(self, model_dir: Path) -> None:
        self.labels = EfficientNetLabeler(model_dir)
        self.objects = CenterNetDetector(model_dir)
        self.faces = DlibFaceRecognizer(upsample=0, person_upsample=1)  # as the local provider runs it
        self.text = RapidOcrReader()
        self.moderation = OpenNsfwModerator()
        self.embedder = MiniLmEmbedder()

        self.timings: dict[str, list[float]] = {}  # wall ms per call
        self.cpu: dict[str, list[float]] = {}  # CPU ms of the calling thread per call

    def _timed(self, name: str, fn: Callable[[], T]) -> T:
        t0, c0 = time.perf_counter(), time.thread_time()
        result = fn()
        self.timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
        self.cpu.setdefault(name, []).append((time.thread_time() - c0) * 1000)
        return result

    def run_all(self, data: bytes) -> None:
        image = self._timed("decode", lambda: decode(data, target=PREVIEW_MAX, floor=PREVIEW_MIN))
        labels = self._timed(
            "labels",
            lambda: self.labels.predict(self.labels.prepare(image)[None], min_confidence=50, max_labels=20)[
                0
            ],
        )
        objects = self._timed("objects", lambda: self.objects.detect(image))  # also feeds people and faces
        self._timed("people", lambda: people_from_objects(objects, min_confidence=DEFAULT_MIN_CONFIDENCE))
        heads = [p.box for p in people_from_objects(objects, min_confidence=25.0)]  # the detector's floor
        self._timed("faces", lambda: self.faces.detect(image, people=heads))
        found = self._timed("text", lambda: self.text.read(image))
        lines = [t.text for t in found if t.type == "LINE"]
        self._timed("moderation", lambda: self.moderation.moderate(image))
        self._timed("properties", lambda: image_properties(image))
        text = ", ".join(lb.name for lb in labels) + ". " + " ".join(lines)
        self._timed("embedding", lambda: self.embedder.embed([text]))


async def raw(paths: list[Path], models: Models, threads: int) -> float:
    blobs = [p.read_bytes() for p in paths]
    pool = CpuPool(threads)
    try:
        start = time.perf_counter()
        await asyncio.gather(*(pool.run(models.run_all, b) for b in blobs))
        return len(paths) / (time.perf_counter() - start)
    finally:
        pool.close()


async def pipeline(paths: list[Path], data_dir: Path, threads: int) -> tuple[float, float, dict[str, float]]:
    """(images per second, CPU seconds after the warm-up image, p50 ms per analyzer)."""
    services = build(Settings(data_dir=data_dir, cpu_threads=threads, worker_concurrency=threads * 2))
    try:
        tenant = await services.catalog.create_tenant("bench")
        await services.catalog.add_api_key(tenant.id, hash_api_key(new_api_key()))
        # Warm every model once (loads are per process, not per image).
        await services.ingestor.ingest(tenant.id, paths[0].read_bytes(), "warm.jpg")
        await services.worker().run_until_idle()
        stop = asyncio.Event()
        start, cpu_start = time.perf_counter(), cpu_seconds()
        worker = services.worker()
        running = asyncio.create_task(worker.run(stop))
        ids = []
        for path in paths[1:]:
            outcome = await services.ingestor.ingest(tenant.id, path.read_bytes(), path.name)
            assert outcome.asset is not None, outcome.error
            ids.append(outcome.asset.id)
        await wait_all_indexed(services, worker, tenant.id, ids)
        elapsed = time.perf_counter() - start
        stop.set()
        await running
    finally:
        services.close()  # the exiv2 child exits: its CPU counts from here on
    cpu = cpu_seconds() - cpu_start
    with sqlite3.connect(data_dir / "catalog.db") as conn:
        rows = conn.execute("SELECT analyzer, duration_ms FROM runs").fetchall()
    by: dict[str, list[float]] = {}
    for analyzer, ms in rows:
        by.setdefault(analyzer, []).append(ms)
    return len(ids) / elapsed, cpu, {a: statistics.median(v) for a, v in sorted(by.items())}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=16, help="number of images (default 16)")
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--height", type=int, default=1536)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        paths = make_images(root / "images", args.images + 1, (args.width, args.height))
        models = Models(root / "models")
        models.run_all(paths[0].read_bytes())  # load every model once
        models.timings.clear()
        models.cpu.clear()
        t0 = cpu_seconds()
        raw_rate = await raw(paths[1:], models, args.threads)
        raw_cpu = cpu_seconds() - t0
        pipe_rate, pipe_cpu, p50 = await pipeline(paths, root / "data", args.threads)
        print("p50 ms per analyzer   raw model call  (its CPU; mean CPU)  in the pipeline (incl. pool waits)")
        for analyzer in [*p50, "decode"]:
            wall = statistics.median(models.timings.get(analyzer, [0.0]))
            cpu = models.cpu.get(analyzer, [0.0])
            own = f"{wall:10.1f}  ({statistics.median(cpu):6.1f}; {statistics.mean(cpu):6.1f})"
            print(
                f"  {analyzer:<20} {own}  {p50[analyzer]:10.1f}"
                if analyzer in p50
                else f"  {analyzer:<20} {own}"
            )
        print(
            f"analyzers images={len(paths) - 1} images_per_s={pipe_rate:.2f} raw_images_per_s={raw_rate:.2f} "
            f"overhead_ratio={raw_rate / pipe_rate:.2f} " + cpu_summary(len(paths) - 1, pipe_cpu, raw_cpu)
        )


if __name__ == "__main__":
    asyncio.run(main())
