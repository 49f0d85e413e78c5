"""The label names a free-text query may mean (pure functions).

A free-text query matches a label or parent when it is that label's name. People type "a car", "animals",
"an apple", "people", "kittens": the whole query as typed names no label, so these found nothing but by
meaning (and "a car" put six carnivores first, their "Carnivore" starting with "car"). The query's terms
are the query as typed, then without a leading article, then with its last word in the singular: every
candidate is looked up as an exact name, so one that names nothing ("glasse") finds nothing, and a name
that is plural itself ("Jeans", "Scissors") is still found as typed. The words of a query meet the words of
label names by the same rule, one word at a time (`word_forms`): "cars" finds the word "car" of "Sports Car",
and "car" does not find "Carnivore".
"""

from __future__ import annotations

_ARTICLES = ("a", "an", "the", "some", "any")
_IRREGULAR = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "knives": "knife",
    "wolves": "wolf",
    "leaves": "leaf",
    "loaves": "loaf",
    "calves": "calf",
}


def label_terms(text: str) -> tuple[str, ...]:
    """Lower-cased label names `text` may mean, the query as typed first (at most four)."""
    typed = " ".join(text.lower().split())
    words = typed.split(" ")
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    found = [typed, " ".join(words)]
    *head, last = words
    found += [" ".join([*head, one]) for one in _singulars(last)]
    return tuple(dict.fromkeys(t for t in found if t))[:4]


def word_forms(word: str) -> tuple[str, ...]:
    """A query word lower-cased, then its singulars: the whole words of label names it may mean."""
    lowered = word.lower()
    return tuple(dict.fromkeys([lowered, *_singulars(lowered)]))


def _singulars(word: str) -> list[str]:
    if word in _IRREGULAR:
        return [_IRREGULAR[word]]
    if len(word) < 4 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return []
    if word.endswith("ies"):
        return [word[:-3] + "y"]  # puppies, butterflies
    if word.endswith("es"):
        return [word[:-1], word[:-2]]  # horses, oranges; buses, boxes, glasses, benches
    return [word[:-1]]
