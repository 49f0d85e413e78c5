"""Build catalog/domain/labels/glosses.json: for each label a local model names (the ImageNet-1k classes of
data/imagenet_taxonomy.json, the COCO-80 classes of data/coco_taxonomy.json, and the parents above them:
Building, Insect, Clothing ...), its WordNet 3.0 definition and its other WordNet names, so the meaning
text can say what a label is ("Banister: handrail; a railing at the side of a staircase ...": "stairs"
then finds it). A parent is a photo's most specific label where the classifier is sure only of it (an
old street split between monastery, castle and bell tower is a sure Building).

Run once by a developer, after the two taxonomy scripts; the output is committed, so users need no WordNet
at run time. It reproduces the committed file byte for byte:

    apt-get install -y wordnet-base                 # WordNet 3.0 database files (/usr/share/wordnet)
    python scripts/build_label_glosses.py

The sense is the class's own wnid (ImageNet's wnids are WordNet 3.0 noun offsets; build_coco_taxonomy.py
names one per COCO class), corrected by build_imagenet_taxonomy.SENSE_FIX. A name two classes share
(ImageNet's two "Missile" and "Sunglasses" classes; a COCO class that is also an ImageNet class) takes the
first one's sense, ImageNet's before COCO's; a parent's is the WordNet node it names (parent_senses), or
for the few parents only COCO classes have, COCO_PARENT_SENSES; labels made from other findings than a
class (Document, Text: catalog/domain/labels/documents.py) have DERIVED_SENSES. The definition is
WordNet's without its quoted examples; the synonyms are the synset's other lemmas but its scientific names.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from build_imagenet_taxonomy import (
    EXTRA_HYPERNYMS,
    SENSE_FIX,
    Synset,
    ancestor_depths,
    node_name,
    read_synsets,
    write_from_wordnet,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "indexer" / "recognizers" / "local" / "data"
OUT = ROOT / "catalog" / "domain" / "labels" / "glosses.json"
TAXONOMIES = ("imagenet_taxonomy.json", "coco_taxonomy.json")
# A parent above more classes than this has no gloss: it says too little of any photo (Animal, Mammal,
# Carnivore, Canine, Pet). Measured with bench.meaning and 41 queries on 33 other photos: see README.
GENERIC = 100
# Parents build_coco_taxonomy.py writes by hand that no ImageNet class has above it, with the sense each
# names. "Road Sign" (Stop Sign's) has none: WordNet knows street signs and signs, not road signs.
COCO_PARENT_SENSES = {
    "Human": "n02472293",  # homo, man, human being
    "Hydrant": "n03550916",  # the discharge pipe, not the tap
    "Luggage": "n02774630",  # baggage
    "Publication": "n06589574",
}
# Labels no model's classes name, made from other findings (catalog/domain/labels/documents.py)
DERIVED_SENSES = {
    "Document": "n06470073",  # written document, papers: writing that provides information
    "Text": "n06387980",  # textual matter: the words of something written
}


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


def parent_senses(synsets: dict[str, Synset], classes: list[dict[str, str]]) -> dict[str, str]:
    """Each parent label of the ImageNet taxonomy (a WordNet node above a class, as
    build_imagenet_taxonomy names it) → the node it names, but those above more than GENERIC classes.
    Where one name stands for several nodes (RENAME: "Food" is food, nutrient and food, solid food) it is
    the node most classes reach."""
    lemma = {wnid: s.words[0] for wnid, s in synsets.items()}
    hypernyms = {wnid: [*s.hypernyms, *EXTRA_HYPERNYMS.get(wnid, [])] for wnid, s in synsets.items()}
    reached: Counter[tuple[str, str]] = Counter()
    for c in classes:
        for node in ancestor_depths(SENSE_FIX.get(c["wnid"], c["wnid"]), hypernyms):
            if (name := node_name(node, lemma)) is not None:
                reached[name, node] += 1
    beneath = Counter(p for c in classes for p in c["ancestors"])
    senses: dict[str, str] = {}
    for (name, node), _ in sorted(reached.items(), key=lambda kv: (-kv[1], kv[0][1])):
        if beneath[name] <= GENERIC:
            senses.setdefault(name, node)
    return senses


def build(wordnet_dir: Path, data_dir: Path = DATA) -> dict[str, object]:
    synsets = read_synsets(wordnet_dir)
    genus_names = genera(synsets)
    taxonomies = {t: json.loads((data_dir / t).read_text()) for t in TAXONOMIES}
    named = [  # (where, label name, its sense): every class, then every parent label
        (t, c["name"], SENSE_FIX.get(c["wnid"], c["wnid"]))
        for t in TAXONOMIES
        for c in taxonomies[t]["classes"]
    ]
    parents = parent_senses(synsets, taxonomies[TAXONOMIES[0]]["classes"]) | COCO_PARENT_SENSES
    named += [("parents", name, wnid) for name, wnid in sorted(parents.items())]
    named += [("derived", name, wnid) for name, wnid in sorted(DERIVED_SENSES.items())]
    glosses: dict[str, dict[str, object]] = {}
    for where, name, wnid in named:
        if wnid not in synsets:
            raise SystemExit(f"{where}: {name} has {wnid}, not a WordNet 3.0 noun synset")
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
        + ", and of the labels made from other findings (scripts/build_label_glosses.py)",
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
