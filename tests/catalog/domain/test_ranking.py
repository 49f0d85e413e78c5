"""How near a query's meaning a neighbour must be to count (ranking.meaning_cut)."""

from __future__ import annotations

import pytest

from catalog.domain.ranking import MEANING_MARGIN, MEANING_SURE, SEMANTIC_FLOOR, meaning, meaning_cut


def test_a_neighbour_counts_near_the_best_or_when_sure() -> None:
    assert meaning_cut(0.51) == pytest.approx(0.51 - MEANING_MARGIN)  # "animal": the cat 0.51, not 0.35
    assert meaning_cut(0.84) == MEANING_SURE  # several photos fit well: each at MEANING_SURE counts
    assert meaning_cut(0.33) == SEMANTIC_FLOOR  # never under the floor
    assert meaning_cut(None) == SEMANTIC_FLOOR  # no vector in the tenant


def test_a_hit_explains_its_meaning_only_over_the_cut() -> None:
    cut = meaning_cut(0.51)
    assert meaning(0.42, cut) == 0.42
    assert meaning(0.35, cut) is None and meaning(0.35) == 0.35  # over the floor, under the cut
