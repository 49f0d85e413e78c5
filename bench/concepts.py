"""Custom concepts benchmark: how long a training takes, and how fast a concept scores stored vectors.

Training: --examples feature vectors (a tenth positive) go through the whole training a worker runs
(5-fold cross-validation, Platt calibration, the final fit). The vectors are real EfficientNet-Lite0
features of augmented crops of real photos (one subject for the positives, nine other photos for the
negatives), each repeated with small Gaussian noise to reach the count: real geometry, any size.

Scoring: --vectors float16 vectors are stored through the catalog port (the embedded SQLite catalog,
one tenant); a version then scores them all and keeps the scores (ConceptScores.score_archive: what each
training adds in the worker; vectors per second, with the raw numpy rate of the same matrix), and the
page's reads are timed on them: the "is this also X?" suggestions (the version's top 12 non-examples) and
the 12 uncertain items (the band around its threshold), wall and CPU time (this process: the catalog's
and the CPU pool's threads included) with the load average. Last line:
    concepts examples=N train_ms=X vectors=M archive_score_vectors_per_s=Y numpy_vectors_per_s=Z
      suggestions_ms=.. suggestions_cpu_ms=.. uncertain_ms=.. uncertain_cpu_ms=.. load=..
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from catalog.domain.clock import utcnow
from catalog.domain.concepts.model import Concept, ConceptVersion, VersionStatus
from catalog.domain.ids import uuid7
from catalog.domain.model import FeatureVector
from indexer.concepts.probe import Matrix, as_matrix, probabilities, train
from indexer.concepts.ranking import ConceptScores
from indexer.recognizers.local.labels import EfficientNetLabeler
from mediasight.bootstrap import build
from mediasight.settings import Settings
from tests.contract.catalogs import new_asset
from tests.indexer.concepts.photos import augmented_crops, others, subject


def real_features(labeler: EfficientNetLabeler, crops_each: int) -> tuple[np.ndarray, np.ndarray]:
    """(positives, negatives) raw float32 features of augmented crops of the subject and of other photos."""

    def of(images: list) -> np.ndarray:  # type: ignore[type-arg]
        return labeler.features(np.stack([labeler.prepare(i) for i in images]))

    positives = of(augmented_crops(subject(), crops_each, seed=1))
    negatives = of([c for img in others().values() for c in augmented_crops(img, crops_each, seed=2)])
    return positives, negatives


def grown(base: np.ndarray, count: int, rng: np.random.Generator) -> Matrix:
    """`count` rows: the base rows repeated, each with 5 % Gaussian noise, as stored (float16), normalised."""
    rows = base[rng.integers(0, len(base), count)]
    noisy = np.maximum(rows * (1 + rng.normal(0, 0.05, rows.shape)), 0)
    return as_matrix([r.astype("<f2").tobytes() for r in noisy])


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=1000, help="training examples (default 1000)")
    parser.add_argument(
        "--vectors", type=int, default=100_000, help="stored vectors to score (default 100000)"
    )
    parser.add_argument("--crops", type=int, default=6, help="real crops per photo (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement (median)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="mediasight-bench-") as tmp:
        root = Path(tmp)
        labeler = EfficientNetLabeler(root / "models")
        pos, neg = real_features(labeler, args.crops)
        n_pos = max(5, args.examples // 10)
        x_pos, x_neg = grown(pos, n_pos, rng), grown(neg, args.examples - n_pos, rng)
        train_ms = []
        for round_ in range(args.rounds):
            t0 = time.perf_counter()
            weights, metrics = train(x_pos, x_neg)
            train_ms.append((time.perf_counter() - t0) * 1000)
            print(
                f"train round {round_ + 1}: {train_ms[-1]:.0f} ms ({metrics.folds}-fold, F1 {metrics.f1:.3f})"
            )

        settings = Settings(data_dir=root / "data", analyzers="labels", semantic_search=False)
        services = build(settings, labeler=labeler)
        try:
            tenant = (await services.catalog.create_tenant("bench")).id
            stored = grown(np.vstack([pos, neg]), args.vectors, rng)
            model = labeler.feature_version
            t0 = time.perf_counter()
            ids = sorted(uuid7() for _ in range(args.vectors))
            for start in range(0, args.vectors, 1000):
                chunk = list(zip(ids[start : start + 1000], stored[start : start + 1000], strict=True))
                await asyncio.gather(  # the archive's assets (suggestions are assets that exist)
                    *(services.catalog.register_asset(new_asset(tenant, f"{a:0>64}", id=a)) for a, _ in chunk)
                )
                await asyncio.gather(
                    *(
                        services.catalog.save_features(
                            tenant, a, FeatureVector(model, v.astype("<f2").tobytes())
                        )
                        for a, v in chunk
                    )
                )
            print(f"stored {args.vectors} assets and their vectors in {time.perf_counter() - t0:.1f} s")
            concept = Concept(uuid7(), tenant, "Bench", (), (), utcnow(), active_version=1, versions=1)
            await services.catalog.create_concept(concept)
            version = ConceptVersion(
                tenant, concept.id, 1, VersionStatus.READY, model, utcnow(), metrics=metrics, weights=weights
            )
            await services.catalog.add_version(dataclasses.replace(version, scored=True))
            ranking = ConceptScores(services.catalog, services.cpu)
            rates, raw, suggest, near = [], [], [], []
            for round_ in range(args.rounds):
                t0 = time.perf_counter()
                await ranking.score_archive(tenant, version)  # what a training adds, in the worker
                rates.append(args.vectors / (time.perf_counter() - t0))
                wall, cpu = time.perf_counter(), time.process_time()
                best = await services.concepts.suggestions(tenant, concept, first=12)
                suggest.append((time.perf_counter() - wall, time.process_time() - cpu))
                wall, cpu = time.perf_counter(), time.process_time()
                await services.concepts.uncertain(tenant, concept, first=12)
                near.append((time.perf_counter() - wall, time.process_time() - cpu))
                t0 = time.perf_counter()
                probabilities(weights, stored)
                raw.append(args.vectors / (time.perf_counter() - t0))
                print(
                    f"round {round_ + 1}: archive scored and kept at {rates[-1]:,.0f} vectors/s "
                    f"(numpy alone {raw[-1]:,.0f}/s); suggestions {suggest[-1][0] * 1000:,.1f} ms wall "
                    f"{suggest[-1][1] * 1000:,.1f} ms CPU, uncertain {near[-1][0] * 1000:,.1f} ms wall "
                    f"{near[-1][1] * 1000:,.1f} ms CPU (top {best[0].probability:.3f})"
                )
        finally:
            services.close()
    print(
        f"concepts examples={args.examples} train_ms={statistics.median(train_ms):.0f} "
        f"vectors={args.vectors} archive_score_vectors_per_s={statistics.median(rates):.0f} "
        f"numpy_vectors_per_s={statistics.median(raw):.0f} "
        f"suggestions_ms={median_ms(suggest, 0)} suggestions_cpu_ms={median_ms(suggest, 1)} "
        f"uncertain_ms={median_ms(near, 0)} uncertain_cpu_ms={median_ms(near, 1)} "
        f"load={os.getloadavg()[0]:.1f}"
    )


def median_ms(timings: list[tuple[float, float]], which: int) -> str:
    """The median of (wall, CPU) seconds' `which` side, in ms."""
    return f"{statistics.median(t[which] for t in timings) * 1000:.1f}"


if __name__ == "__main__":
    asyncio.run(main())
