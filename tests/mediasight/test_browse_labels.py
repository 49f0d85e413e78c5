"""The command line lists labels as the pages do: a model's guess (under 50) carries a question mark."""

from __future__ import annotations

from catalog.domain.model import Label
from mediasight.browse_cli import _labels


def test_a_guess_is_marked_and_a_sure_label_is_not() -> None:
    labels = [Label("Cat", 93.44, ("Feline",)), Label("Missile", 42.0), Label("Rocket", 50.0)]
    assert _labels(labels) == "Cat 93.4, Missile? 42.0, Rocket 50.0"
