"""Words for what the recognizers found: counts, colours, black and white."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from catalog.domain.labels.description import colour_name, colour_words, counted, plural
from catalog.domain.labels.glossary import GLOSS_WEIGHT, with_glosses
from catalog.domain.metadata import MEANING_TEXT_WORDS, label_glosses, metadata_text
from catalog.domain.model import Asset, BoundingBox, DominantColor, ImageProperties, Instance, Label

BOX = BoundingBox(0, 0, 0.5, 0.5)


def colour(r: int, g: int, b: int, percent: float = 50.0) -> DominantColor:
    return DominantColor(r, g, b, f"#{r:02x}{g:02x}{b:02x}", percent)


def props(*colours: DominantColor) -> ImageProperties:
    return ImageProperties(50, 50, 50, 50, colours)


def test_counts_say_how_many_of_each_located_thing() -> None:
    labels = [
        Label("Person", 99, ("Human",), (Instance(BOX, 90), Instance(BOX, 80))),
        Label("Kite", 70, (), tuple(Instance(BOX, 60) for _ in range(7))),
        Label("Umbrella", 40, (), (Instance(BOX, 40),)),  # a guess: not counted
        Label("Animal", 90),  # not located: no count
        Label("Apple", 66, (), (Instance(BOX, 66),)),
        Label("Bus", 66, (), tuple(Instance(BOX, 66) for _ in range(12))),
    ]
    assert counted(labels) == ["two people", "seven kites", "an apple", "12 buses"]
    assert [plural(n) for n in ("Dining Table", "Knife", "Bench", "Teddy Bear", "Butterfly")] == [
        "dining tables", "knives", "benches", "teddy bears", "butterflies",
    ]  # fmt: skip


def test_colours_and_black_and_white() -> None:
    assert colour_words(props(colour(20, 20, 20), colour(200, 200, 200))) == [
        "black and white photo",
        "monochrome",
    ]
    assert colour_words(props(colour(200, 20, 30, 60), colour(30, 60, 200, 30), colour(0, 0, 0, 5))) == [
        "colours red, blue"
    ]
    samples = [(250, 250, 250), (90, 50, 20), (250, 200, 0), (40, 160, 60)]
    assert [colour_name(colour(*c)) for c in samples] == ["white", "brown", "yellow", "green"]
    assert colour_words(None) == []


def test_metadata_text_reads_like_a_description() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    asset = Asset("a", "t", "0" * 64, 1, "image/jpeg", 10, 10, "beach_2019.jpg", "k", now, now)
    labels = [Label("Person", 95, ("Human",), (Instance(BOX, 95), Instance(BOX, 90))), Label("Dog", 30)]
    text = metadata_text(asset, labels, ["SURF SHOP"], ["Ann"], props(colour(10, 10, 10)))
    assert text == "Person, Human. two people. black and white photo, monochrome. Ann. SURF SHOP. beach"


def test_a_page_is_described_by_what_it_is_and_its_first_words() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    asset = Asset("a", "t", "0" * 64, 1, "image/jpeg", 10, 10, "scan.jpg", "k", now, now)
    page = [" ".join(f"w{line}x{i}" for i in range(12)) for line in range(30)]  # 360 words on 30 lines
    text = metadata_text(asset, [Label("Document", 99, ("Text",)), Label("Text", 99)], page, [])
    said = text.split(". ")[1].split()
    assert said == [f"w{i // 12}x{i % 12}" for i in range(MEANING_TEXT_WORDS)]  # read in order, cut
    assert text.startswith("Document, Text. w0x0") and text.endswith(". scan")
    assert label_glosses([Label("Document", 99, ("Text",)), Label("Text", 99)]) == (
        "Document, also written document, papers: writing that provides information (especially information "
        "of an official nature)"
    )  # WordNet's document, as for any label a model names


def test_the_meaning_says_what_its_first_specific_labels_are() -> None:
    labels = [
        Label("Animal", 97),  # a parent: no gloss of its own
        Label("Banister", 54),  # the top specific label: said with its gloss
        Label("Cheetah", 83, ("Big Cat", "Animal")),
        Label("Harbour Crane", 80),  # a custom concept: no gloss
        Label("Lion", 60, ("Big Cat", "Animal")),  # past GLOSSED_LABELS (Banister, Cheetah glossed first)
        Label("Zebra", 40, ("Animal",)),  # unsure: not described at all
    ]
    assert label_glosses(labels) == (
        "Banister, also bannister, balustrade, balusters: a railing at the side of a staircase or balcony "
        "to prevent people from falling. "
        "Cheetah, also chetah: long-legged spotted cat of Africa and southwestern Asia having nonretractile "
        "claws"
    )  # the first clause of a definition only ("; the swiftest mammal; ...")
    tentative = [Label("Missile", 41, ("Weapon",))]  # nothing sure: the tentative label is glossed
    said = label_glosses([Label("Zebra", 40)], tentative)
    assert said == "Missile: a rocket carrying a warhead of conventional or nuclear explosives"
    assert label_glosses([Label("Harbour Crane", 80)]) == label_glosses([]) == ""


def test_a_parent_that_is_the_most_specific_label_is_glossed_too() -> None:
    # an old street of castles and towers the classifier is only sure is a Building
    assert label_glosses([Label("Building", 54)]) == (
        "Building, also edifice: a structure that has a roof and walls and stands more or less permanently "
        "in one place"
    )
    flower = [Label("Insect", 52, ("Invertebrate", "Animal")), Label("Animal", 62)]
    assert label_glosses(flower) == "Insect: small air-breathing arthropod"
    # a parent above most of the animals says too little to gloss (build_label_glosses.GENERIC)
    assert label_glosses([Label("Mammal", 68, ("Animal",)), Label("Animal", 74)]) == ""


def test_the_glosses_add_to_the_description_without_outweighing_it() -> None:
    description, glosses = np.array([1, 0, 0], np.float32), np.array([0, 1, 0], np.float32)
    assert with_glosses(description, None) is description
    meaning = with_glosses(description, glosses)
    assert np.isclose(np.linalg.norm(meaning), 1.0) and meaning.dtype == np.float32
    assert meaning[0] > meaning[1] > 0  # nearer the description; GLOSS_WEIGHT of the way to the glosses
    assert np.isclose(meaning[1] / meaning[0], GLOSS_WEIGHT)
