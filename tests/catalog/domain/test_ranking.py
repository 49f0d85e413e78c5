"""How near a query's meaning a neighbour must be to count (ranking.meaning_cut), and the words a text query
finds a document by (ranking.document_words, label_words)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.domain.model import Label
from catalog.domain.ports import IndexDocument
from catalog.domain.ranking import (
    MEANING_MARGIN,
    MEANING_SURE,
    SEMANTIC_FLOOR,
    document_words,
    label_words,
    meaning,
    meaning_cut,
)


def test_a_neighbour_counts_near_the_best_or_when_sure() -> None:
    assert meaning_cut(0.51) == pytest.approx(0.51 - MEANING_MARGIN)  # "animal": the cat 0.51, not 0.35
    assert meaning_cut(0.84) == MEANING_SURE  # several photos fit well: each at MEANING_SURE counts
    assert meaning_cut(0.33) == SEMANTIC_FLOOR  # never under the floor
    assert meaning_cut(None) == SEMANTIC_FLOOR  # no vector in the tenant


def test_a_hit_explains_its_meaning_only_over_the_cut() -> None:
    cut = meaning_cut(0.51)
    assert meaning(0.42, cut) == 0.42
    assert meaning(0.35, cut) is None and meaning(0.35) == 0.35  # over the floor, under the cut


def test_names_are_prefix_words_and_sure_label_names_whole_words() -> None:
    labels = (Label("Sports Car", 76, ("Car",)), Label("Carnivore", 49.9), Label("Person", 50))
    doc = IndexDocument("t", "a", "IMG_0001.jpg x.png", "image/jpeg", datetime(2026, 1, 1, tzinfo=UTC), None,
                        labels, text="STOP", persons=("Ada Lovelace",))  # fmt: skip
    assert document_words(doc) == "IMG_0001.jpg x.png Ada Lovelace"  # no label: "car" is no prefix of them
    assert label_words(doc) == "Sports Car Person"  # under 50: found by its whole name only (label_terms)
