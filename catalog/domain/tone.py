"""An image's tone — monochrome (black and white, greyscale, sepia or another toned print) or colour — and
the queries that name it (pure functions).

MiniLM cannot tell "black and white photo" from a colour photo whose description names black among its
colours (0.46–0.62 against 0.84), so the tone is a fact of the index document, not a matter of meaning: a
query that names it keeps only the documents of that tone, and what else it says ranks them ("black and
white photo of a ship": ships, by words, labels and meaning, among the monochrome documents).
"""

from __future__ import annotations

import re

from catalog.domain.model import DominantColor, ImageProperties

MONOCHROME = "monochrome"
COLOUR = "colour"
# From the pixels (indexer properties: off_tone_percent, median_chroma). Seen on 153 photos and graphics
# from packages plus toned copies of greyscale ones: greyscale 0, sepia and cyan toned 0–0.44 % (median
# chroma 19–31), colour 1.1 % and more. MAX_CHROMA: a tint stronger than any toning process is a colour.
MAX_OFF_TONE = 0.75
MAX_CHROMA = 40.0
# Without those measures (results of older versions, Rekognition's), from the dominant colours: every one
# of them this little saturated. It misses toned prints and takes a mostly grey photo with a few coloured
# things for black and white (an aerial photo, playing cards).
PALETTE_SATURATION = 0.12

_PHOTO = r"(?:photo(?:graph)?s?|pictures?|pics?|images?|shots?|snapshots?|prints?|photography|films?)"
_BW = r"(?:black[\s-]*(?:and|&|n)[\s-]*white)"
_MONO = (
    r"(?:b\s*&\s*w|b/w|monochrom(?:e|atic)|gr[ae]y[\s-]?scale|sepia(?:[\s-]toned)?|colou?rless|"
    r"desaturated|achromatic)"
)
_COLOUR = r"(?:(?:full[\s-])?colou?r(?:ed)?)"
_TRIM = frozenset({"a", "an", "the", "of", "in", "on", "at", "with", "and", "for", "showing", "some", "any"})
_PHOTO_WORD = re.compile(rf"^{_PHOTO}$")
# Said just before a tone, these date the photo, which the tone already does: "old black and white photos"
# asks for the monochrome ones, not for an "old" among them (no description says a photo is old).
_AGE = frozenset({"old", "older", "vintage", "historic", "historical", "antique", "archival", "retro"})
# What names a tone in a query, most specific first. "black and white" names it before a word for a
# photo, after "in", or as the whole query: "a black and white cat" is a cat's coat, not the photo's tone.
_NAMES = (
    (MONOCHROME, re.compile(rf"\b(?:{_BW}|{_MONO})[\s-]+{_PHOTO}\b")),
    (MONOCHROME, re.compile(rf"\bin[\s-]+{_BW}\b")),
    (MONOCHROME, re.compile(rf"^\s*{_BW}\s*$")),
    (MONOCHROME, re.compile(rf"\b{_MONO}\b")),
    (COLOUR, re.compile(rf"\b{_COLOUR}[\s-]+{_PHOTO}\b")),
    (COLOUR, re.compile(rf"\bin[\s-]+{_COLOUR}\b")),
    (COLOUR, re.compile(rf"^\s*{_COLOUR}\s*$")),
)


def tone_of(properties: ImageProperties | None) -> str:
    """MONOCHROME or COLOUR for an image with measured properties, "" for none (a video, an image whose
    properties were not analysed)."""
    if properties is None:
        return ""
    if properties.off_tone_percent is not None and properties.median_chroma is not None:
        toned = properties.off_tone_percent <= MAX_OFF_TONE and properties.median_chroma <= MAX_CHROMA
        return MONOCHROME if toned else COLOUR
    if not properties.dominant_colors:
        return ""
    grey = all(saturation(c) < PALETTE_SATURATION for c in properties.dominant_colors)
    return MONOCHROME if grey else COLOUR


def saturation(c: DominantColor) -> float:
    top, low = max(c.red, c.green, c.blue), min(c.red, c.green, c.blue)
    return (top - low) / top if top else 0.0


def named_tone(text: str) -> tuple[str, str]:
    """The tone a free-text query names ("" for none) and what else it says, without the words that
    named it, the function words or photo words left dangling and a word that dates the photo just before
    the tone: "black and white photo of a ship" → (MONOCHROME, "ship"); "sepia portraits" → (MONOCHROME,
    "portraits"); "monochrome" → (MONOCHROME, ""); "old black and white photos" → (MONOCHROME, "")."""
    lowered = text.lower()
    for tone, pattern in _NAMES:
        found = pattern.search(lowered)
        if found is None:
            continue
        before = text[: found.start()].split()
        while before and before[-1].lower() in _AGE:
            before.pop()
        rest = [*before, *text[found.end() :].split()]
        while rest and (rest[0].lower() in _TRIM or _PHOTO_WORD.match(rest[0].lower())):
            rest.pop(0)
        while rest and (rest[-1].lower() in _TRIM or _PHOTO_WORD.match(rest[-1].lower())):
            rest.pop()
        return tone, " ".join(rest)
    return "", text
