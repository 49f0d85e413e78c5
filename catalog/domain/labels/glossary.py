"""What a label means, in words: WordNet 3.0's definition and other names of each label the local models
name (glosses.json, built by scripts/build_label_glosses.py), so the meaning text can say what the label
is ("Banister: handrail; a railing at the side of a staircase"): "stairs" then finds the photo the
classifier called Banister. A label of another provider finds its gloss when its name is the same
("Dog", "Bicycle"); a custom concept's name has none."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

SYNONYMS = 3  # other names said at most: WordNet lists up to 9 ("Bus": autobus, coach, charabanc, ...)


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
