"""What a label means: WordNet glosses of every label the local models name (glosses.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from catalog.domain.labels import glossary
from catalog.domain.labels.glossary import SYNONYMS, gloss_of, glossed

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "indexer" / "recognizers" / "local" / "data"
WORDNET = Path("/usr/share/wordnet")


def class_names(taxonomy: str) -> set[str]:
    return {c["name"] for c in json.loads((DATA / taxonomy).read_text())["classes"]}


def test_every_class_of_both_models_has_a_gloss() -> None:
    names = class_names("imagenet_taxonomy.json") | class_names("coco_taxonomy.json")
    assert len(names) > 1000
    missing = [n for n in names if gloss_of(n) is None or not gloss_of(n).definition]  # type: ignore[union-attr]
    assert missing == []


def test_every_label_the_taxonomies_can_produce_has_a_gloss() -> None:
    imagenet = json.loads((DATA / "imagenet_taxonomy.json").read_text())
    coco = json.loads((DATA / "coco_taxonomy.json").read_text())
    parents = {p for ps in imagenet["parents"].values() for p in ps}
    parents |= {p for c in coco["classes"] for p in c["ancestors"]}
    assert {"Building", "Mammal", "Insect", "Carnivore", "Clothing", "Human"} <= parents
    missing = {n for n in parents if gloss_of(n) is None or not gloss_of(n).definition}  # type: ignore[union-attr]
    # WordNet knows street signs and signs, no road sign; the rest are above more than GENERIC classes
    assert missing == {"Road Sign", "Animal", "Mammal", "Carnivore", "Canine", "Pet"}
    assert glossed("Building") == (
        "Building, also edifice: a structure that has a roof and walls and stands more or less permanently "
        "in one place"
    )
    assert glossed("Insect") == "Insect: small air-breathing arthropod"
    # a name for two senses (RENAME) takes the one most classes are beneath: food the solid, not nutrient
    assert gloss_of("Food").definition.startswith("any solid substance")  # type: ignore[union-attr]
    assert gloss_of("Hydrant").definition.startswith("a discharge pipe")  # type: ignore[union-attr]


def test_a_gloss_says_what_the_label_is_in_other_words() -> None:
    banister = glossed("banister")  # names are case-insensitive; the label's own spelling is kept
    assert banister == (
        "banister, also bannister, balustrade, balusters: "
        "a railing at the side of a staircase or balcony to prevent people from falling"
    )
    kite = gloss_of("Kite")  # COCO's kite is the toy, not ImageNet's bird ("Kite Bird")
    assert kite is not None and kite.definition.startswith("plaything")
    bird = gloss_of("Kite Bird")
    assert bird is not None and "hawks" in bird.definition
    cheetah = gloss_of("Cheetah")
    assert cheetah is not None and "Acinonyx jubatus" not in cheetah.synonyms  # no scientific names
    assert (
        cheetah.short == "long-legged spotted cat of Africa and southwestern Asia having nonretractile claws"
    )
    assert '"' not in (gloss_of("Person") or cheetah).definition  # WordNet's quoted examples are left out
    bus = glossed("Bus")
    assert bus is not None and bus.startswith(f"Bus, also {', '.join(gloss_of('Bus').synonyms[:SYNONYMS])}:")  # type: ignore[union-attr]
    assert glossed("Harbour Crane") is None and gloss_of("") is None  # a custom concept's name has none


@pytest.mark.skipif(not (WORDNET / "data.noun").is_file(), reason="needs Debian wordnet-base")
def test_the_script_rebuilds_the_committed_file_byte_for_byte() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_label_glosses as script
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    committed = (ROOT / "catalog" / "domain" / "labels" / "glosses.json").read_text(encoding="utf-8")
    assert script.to_json(script.build(WORDNET)) == committed
    assert glossary._glosses()["banister"].synonyms[0] == "bannister"  # what the runtime reads is that file
