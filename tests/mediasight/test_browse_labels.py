"""The command line lists labels as the pages do (a model's guess, under 50, carries a question mark) and
says why each search hit scored, as the API's edges do."""

from __future__ import annotations

from catalog.domain.model import Label
from catalog.domain.ports import LabelMatch, SearchHit
from mediasight.browse_cli import _labels, _matching, _why


def test_a_guess_is_marked_and_a_sure_label_is_not() -> None:
    labels = [Label("Cat", 93.44, ("Feline",)), Label("Missile", 42.0), Label("Rocket", 50.0)]
    assert _labels(labels) == "Cat 93.4, Missile? 42.0, Rocket 50.0"


def test_each_hit_says_why_it_scored() -> None:
    by_parent = SearchHit("a1", 90.5, (LabelMatch("Person", 98.05, "human"),), meaning=0.7305)
    assert _why(by_parent) == "Person 98.0 as human; meaning 0.73"
    guessed = SearchHit("a2", 12.0, (LabelMatch("Car", 31.2, "car"),))
    assert _why(guessed) == "Car? 31.2"  # a guess reads as one, as in the labels column
    assert _why(SearchHit("a3", 35.0, text_match=True)) == "words"
    assert _why(SearchHit("a4", 13.8, meaning=0.4607)) == "meaning 0.46"


def test_the_count_reads_as_english() -> None:
    assert _matching(1) == "1 asset matches"
    assert _matching(0) == "0 assets match" and _matching(11) == "11 assets match"
