"""Words for what the recognizers found, as a person would say them (pure functions): what the semantic
embedding reads besides the label names, so "two people", "a red car" or "black and white photo" can
find the photos that show them."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

from catalog.domain.model import DominantColor, ImageProperties, Label
from catalog.domain.tone import MONOCHROME, tone_of

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_IRREGULAR = {"person": "people", "mouse": "mice", "knife": "knives", "skis": "skis", "sheep": "sheep"}
COUNT_MIN_CONFIDENCE = 50.0  # a box below this is a guess: it does not count


def plural(noun: str) -> str:
    words = noun.lower().split()
    last = words[-1]
    if last in _IRREGULAR:
        last = _IRREGULAR[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join([*words[:-1], last])


def counted(labels: Sequence[Label]) -> list[str]:
    """'two people', 'seven kites', 'a dog': each located label with its confident boxes counted."""
    out = []
    for lb in labels:
        n = sum(1 for i in lb.instances if i.confidence >= COUNT_MIN_CONFIDENCE)
        if n == 0:
            continue
        if n == 1:
            article = "an" if lb.name[:1].lower() in "aeiou" else "a"
            out.append(f"{article} {lb.name.lower()}")
        else:
            out.append(f"{_NUMBERS[n] if n < len(_NUMBERS) else n} {plural(lb.name)}")
    return out


def colour_name(c: DominantColor) -> str:
    """One of the basic colour terms for an RGB colour."""
    h, light, s = colorsys.rgb_to_hls(c.red / 255, c.green / 255, c.blue / 255)
    if s < 0.18 or light < 0.1 or light > 0.93:
        return "black" if light < 0.2 else "white" if light > 0.8 else "gray"
    hue = h * 360
    if hue < 15 or hue >= 340:
        return "pink" if light > 0.7 else "brown" if light < 0.3 else "red"
    if hue < 45:
        return "brown" if light < 0.45 else "orange"
    if hue < 70:
        return "yellow" if light >= 0.35 else "brown"
    if hue < 165:
        return "green"
    if hue < 260:
        return "blue"
    if hue < 300:
        return "purple"
    return "pink"


def colour_words(properties: ImageProperties | None) -> list[str]:
    """'black and white photo' for a monochrome image (catalog.domain.tone); else the names of its main
    colours."""
    if properties is None or not properties.dominant_colors:
        return []
    colours = properties.dominant_colors
    if tone_of(properties) == MONOCHROME:
        return ["black and white photo", "monochrome"]
    names: dict[str, None] = {}
    for c in sorted(colours, key=lambda c: -c.pixel_percent):
        if c.pixel_percent >= 10:
            names[colour_name(c)] = None
    return [f"colours {', '.join(list(names)[:3])}"] if names else []
