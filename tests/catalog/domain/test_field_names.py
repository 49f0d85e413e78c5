"""Field names in a profile's language: keys renamed at every depth, values never."""

from __future__ import annotations

import pytest

from catalog.domain.field_names import LANGUAGES, UnknownLanguage, check_language, field_name, translated_keys


def test_keys_are_renamed_at_every_depth_and_values_are_left_alone() -> None:
    record = {"caption": "keywords", "labels": [{"name": "Dog", "confidence": 90.0}], "gps": None}
    assert translated_keys(record, "de") == {
        "Beschreibung": "keywords",
        "Erkannte Begriffe": [{"Name": "Dog", "Konfidenz": 90.0}],
        "GPS": None,
    }
    assert translated_keys(record, "en") is record


def test_every_language_names_every_field_differently_from_the_others() -> None:
    fields = ["caption", "keywords", "persons", "capturedAt", "usageTerms", "confidence"]
    for language in LANGUAGES:
        names = [field_name(f, language) for f in fields]
        assert len(set(names)) == len(names), language
    assert field_name("keywords", "fr") == "Mots-clés" and field_name("unknownField", "fr") == "unknownField"


def test_an_unknown_language_says_which_there_are() -> None:
    with pytest.raises(UnknownLanguage, match="de, es, fr, it, nl"):
        check_language("klingon")
