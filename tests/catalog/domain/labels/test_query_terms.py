"""The label names a free-text query may mean: as typed, without an article, in the singular."""

from __future__ import annotations

from catalog.domain.labels.query_terms import label_terms, word_forms


def test_articles_and_plurals_are_taken_off_the_query_as_typed_comes_first() -> None:
    assert label_terms("A  Car") == ("a car", "car")
    assert label_terms("an apple") == ("an apple", "apple")
    assert label_terms("animals") == ("animals", "animal")
    assert label_terms("the oranges") == ("the oranges", "oranges", "orange", "orang")
    assert label_terms("people") == ("people", "person")
    assert label_terms("puppies") == ("puppies", "puppy")
    assert label_terms("school buses") == ("school buses", "school buse", "school bus")
    assert label_terms("wine glasses")[-1] == "wine glass"


def test_names_that_are_no_plurals_are_left_as_they_are() -> None:
    for name in ("bus", "glass", "citrus", "praying mantis", "cat", "a", "dress"):
        assert label_terms(name) == (name,)
    assert label_terms("jeans") == ("jeans", "jean")  # "Jeans" is still found as typed
    assert label_terms("  ") == ()


def test_a_query_word_meets_label_words_as_typed_or_in_the_singular() -> None:
    assert word_forms("Cars") == ("cars", "car")
    assert word_forms("people") == ("people", "person")
    assert word_forms("buses") == ("buses", "buse", "bus")
    assert word_forms("car") == ("car",)  # never a prefix: "carnivore" is not among them
    assert word_forms("glass") == ("glass",)
