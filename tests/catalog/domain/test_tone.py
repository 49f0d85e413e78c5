"""The tone of an image (monochrome or colour) and the queries that name it."""

from __future__ import annotations

import pytest

from catalog.domain.model import DominantColor, ImageProperties
from catalog.domain.tone import COLOUR, MAX_CHROMA, MAX_OFF_TONE, MONOCHROME, named_tone, tone_of


def props(
    *colours: tuple[int, int, int], off_tone: float | None = None, chroma: float | None = None
) -> ImageProperties:
    dominant = tuple(
        DominantColor(r, g, b, f"#{r:02X}{g:02X}{b:02X}", 100 / len(colours)) for r, g, b in colours
    )
    return ImageProperties(50, 50, 50, 50, dominant, off_tone_percent=off_tone, median_chroma=chroma)


GREYS = ((20, 20, 20), (128, 128, 128), (240, 240, 240))
SEPIA = ((60, 45, 30), (150, 125, 95), (235, 222, 200))  # a toned print's palette is far from grey


def test_measured_tone_decides_and_a_toned_print_is_monochrome() -> None:
    assert tone_of(props(*SEPIA, off_tone=0.4, chroma=25)) == MONOCHROME
    assert tone_of(props(*GREYS, off_tone=0.0, chroma=0.0)) == MONOCHROME
    assert tone_of(props(*GREYS, off_tone=MAX_OFF_TONE, chroma=MAX_CHROMA)) == MONOCHROME
    # a grey photo with a few coloured things (playing cards: 1.8 %) is colour, though its palette is grey
    assert tone_of(props(*GREYS, off_tone=1.8, chroma=0.0)) == COLOUR
    assert tone_of(props(*SEPIA, off_tone=0.1, chroma=MAX_CHROMA + 1)) == COLOUR  # tinted past any toning


def test_without_the_measures_the_palette_decides_and_without_either_nothing() -> None:
    assert tone_of(props(*GREYS)) == MONOCHROME
    assert tone_of(props(*SEPIA)) == COLOUR
    assert tone_of(None) == ""
    assert tone_of(ImageProperties(50, 50, 50, 50)) == ""


@pytest.mark.parametrize(
    ("text", "tone", "rest"),
    [
        ("black and white photo", MONOCHROME, ""),
        ("Black-and-white pictures", MONOCHROME, ""),
        ("black and white", MONOCHROME, ""),
        ("black and white photo of a ship", MONOCHROME, "ship"),
        ("photos of ships in black and white", MONOCHROME, "ships"),
        ("monochrome", MONOCHROME, ""),
        ("b&w", MONOCHROME, ""),
        ("B/W portraits", MONOCHROME, "portraits"),
        ("sepia photographs of a harbour", MONOCHROME, "harbour"),
        ("grayscale photos of dogs", MONOCHROME, "dogs"),
        ("greyscale", MONOCHROME, ""),
        ("colour photo of a cat", COLOUR, "cat"),
        ("a cat in color", COLOUR, "cat"),
        # a word that dates the photo just before its tone: the tone says it ("old" is in no description)
        ("old black and white photos", MONOCHROME, ""),
        ("Vintage sepia prints of boats", MONOCHROME, "boats"),
        ("black and white photo of an old house", MONOCHROME, "old house"),
        # a coat, a colour, a drink: no tone of the photo
        ("a black and white cat", "", "a black and white cat"),
        ("white and black dog", "", "white and black dog"),
        ("red colour", "", "red colour"),
        ("strong black coffee", "", "strong black coffee"),
        ("a colour chart", "", "a colour chart"),
    ],
)
def test_a_query_names_a_tone_and_says_the_rest(text: str, tone: str, rest: str) -> None:
    assert named_tone(text) == (tone, rest)
