"""Build catalog/domain/labels/glosses.json: for each label a local model names (the ImageNet-1k classes of
data/imagenet_taxonomy.json, the COCO-80 classes of data/coco_taxonomy.json), its WordNet 3.0 definition
and its other WordNet names, so the meaning text can say what a label is ("Banister: handrail; a railing
at the side of a staircase ...": "stairs" then finds it).

Run once by a developer, after the two taxonomy scripts; the output is committed, so users need no WordNet
at run time. It reproduces the committed file byte for byte:

    apt-get install -y wordnet-base                 # WordNet 3.0 database files (/usr/share/wordnet)
    python scripts/build_label_glosses.py

The sense is the class's own wnid (ImageNet's wnids are WordNet 3.0 noun offsets; build_coco_taxonomy.py
names one per COCO class), corrected by build_imagenet_taxonomy.SENSE_FIX. A name two classes share
(ImageNet's two "Missile" and "Sunglasses" classes; a COCO class that is also an ImageNet class) takes the
first one's sense, ImageNet's before COCO's. The definition is WordNet's without its quoted examples; the
synonyms are the synset's other lemmas but its scientific names.
"""

from __future__ import annotations

import json
from pathlib import Path

from build_imagenet_taxonomy import SENSE_FIX, Synset, read_synsets, write_from_wordnet

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "indexer" / "recognizers" / "local" / "data"
OUT = ROOT / "catalog" / "domain" / "labels" / "glosses.json"
TAXONOMIES = ("imagenet_taxonomy.json", "coco_taxonomy.json")


def definition(gloss: str) -> str:
    """WordNet's gloss without its examples ('a human being; "there was too much..."' → 'a human being')."""
    parts = [p.strip() for p in gloss.split(";")]
    kept = [p for p in parts if p and not p.startswith(('"', "`"))]
    return "; ".join(kept)


def genera(synsets: dict[str, Synset]) -> set[str]:
    """The names of WordNet's genera ("genus_Acinonyx" → "Acinonyx")."""
    return {w.split("_", 1)[1] for s in synsets.values() for w in s.words if w.startswith("genus_")}


def other_names(synset: Synset, name: str, genus_names: set[str]) -> list[str]:
    """The synset's lemmas as words, without the label's own name, repeats and scientific names (a lemma
    that begins with a genus name: "Acinonyx jubatus", "Canis familiaris")."""
    seen = {name.casefold()}
    out = []
    for word in synset.words:
        text = word.replace("_", " ")
        if text.casefold() not in seen and not ("_" in word and word.split("_")[0] in genus_names):
            seen.add(text.casefold())
            out.append(text)
    return out


def build(wordnet_dir: Path, data_dir: Path = DATA) -> dict[str, object]:
    synsets = read_synsets(wordnet_dir)
    genus_names = genera(synsets)
    glosses: dict[str, dict[str, object]] = {}
    for taxonomy in TAXONOMIES:
        for c in json.loads((data_dir / taxonomy).read_text())["classes"]:
            name, wnid = c["name"], SENSE_FIX.get(c["wnid"], c["wnid"])
            if wnid not in synsets:
                raise SystemExit(f"{taxonomy}: {name} has {wnid}, not a WordNet 3.0 noun synset")
            if name not in glosses:
                synset = synsets[wnid]
                glosses[name] = {
                    "wnid": wnid,
                    "synonyms": other_names(synset, name, genus_names),
                    "gloss": definition(synset.gloss),
                }
    return {
        "source": "WordNet 3.0 definitions and synonyms (Debian wordnet-base) of the classes of "
        + " and ".join(TAXONOMIES)
        + " (scripts/build_label_glosses.py)",
        "glosses": dict(sorted(glosses.items())),
    }


def to_json(data: dict[str, object]) -> str:
    """One label per line: small diffs when a sense changes."""
    glosses = data["glosses"]
    assert isinstance(glosses, dict)
    lines = ["{", f'"source": {json.dumps(data["source"])},', '"glosses": {']
    lines.append(",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in glosses.items()))
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    out = write_from_wordnet(__doc__ or "", OUT, lambda wordnet: to_json(build(wordnet)))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
