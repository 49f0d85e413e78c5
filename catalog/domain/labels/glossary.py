"""What a label means, in words: WordNet 3.0's definition and other names of each label the local models
name, classes and parents (glosses.json, built by scripts/build_label_glosses.py), so the meaning can say
what the label is ("Banister, also balustrade: a railing at the side of a staircase"): "stairs" then finds
the photo the classifier called Banister. A label of another provider finds its gloss when its name is the
same ("Dog", "Bicycle"); a custom concept's name has none."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

SYNONYMS = 3  # other names said at most: WordNet lists up to 9 ("Bus": autobus, coach, charabanc, ...)
# How much the glosses' own embedding adds to the description's (with_glosses): enough that "stairs" finds
# the banister, not so much that a gloss outweighs the labels ("animal" lost the cat's "Animal", 0.50 →
# 0.39, to "feline mammal usually having thick soft fur" when glosses and labels were one text). Measured
# with bench.meaning at 0.4, 0.5, 0.7 and 1.0: 0.7 had the fewest false hits.
GLOSS_WEIGHT = 0.7


@dataclass(frozen=True)
class Gloss:
    synonyms: tuple[str, ...]  # other names, the commonest first ("handrail" for Banister)
    definition: str  # WordNet's definition, without its examples

    @property
    def short(self) -> str:
        """The definition's first clause ("long-legged spotted cat of Africa and southwestern Asia having
        nonretractile claws", without "; the swiftest mammal; can be trained to run down game")."""
        return self.definition.split(";", 1)[0]


@functools.cache
def _glosses() -> dict[str, Gloss]:
    raw = json.loads(resources.files(__package__).joinpath("glosses.json").read_bytes())
    return {name.casefold(): Gloss(tuple(g["synonyms"]), g["gloss"]) for name, g in raw["glosses"].items()}


def gloss_of(name: str) -> Gloss | None:
    """The label's gloss (case-insensitive name), None for a name no local model has."""
    return _glosses().get(name.casefold())


def glossed(name: str) -> str | None:
    """'Banister, also bannister, balustrade, balusters: a railing at the side of a staircase ...': the
    name, SYNONYMS other names and the short definition (None without a gloss)."""
    found = gloss_of(name)
    if found is None:
        return None
    also = f", also {', '.join(found.synonyms[:SYNONYMS])}" if found.synonyms else ""
    return f"{name}{also}: {found.short}"


def with_glosses(
    description: NDArray[np.float32], glosses: NDArray[np.float32] | None
) -> NDArray[np.float32]:
    """The meaning vector: the description's unit vector plus GLOSS_WEIGHT times the glosses' (if any),
    as a unit vector again."""
    if glosses is None:
        return description
    summed = description + np.float32(GLOSS_WEIGHT) * glosses
    out: NDArray[np.float32] = (summed / np.linalg.norm(summed)).astype(np.float32)
    return out
