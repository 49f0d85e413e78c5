"""`tenant configure --param`: parsing, checking and clearing a tenant's analyzer settings."""

from __future__ import annotations

import pytest

from services.tenant_parameters import AnalyzerSettings, ParameterError, configured_parameters, describe

KNOWN = AnalyzerSettings(
    settings={
        "labels": {"min_confidence": 50.0, "max_labels": 20},
        "text": {"min_confidence": 50.0, "thorough": False},
        "faces": {"upsample": 1},
    },
    missing={},
)


def test_settings_are_set_in_their_defaults_type_and_cleared() -> None:
    chosen = configured_parameters({}, ["text.thorough=yes", "labels.max_labels=8"], KNOWN)
    assert chosen == {"text": {"thorough": True}, "labels": {"max_labels": 8}}
    assert describe(chosen) == "labels.max_labels=8, text.thorough=true"
    # a setting alone applies to every analyzer that has it
    both = configured_parameters(chosen, ["min_confidence=70"], KNOWN)
    assert both == {
        "text": {"thorough": True, "min_confidence": 70.0},
        "labels": {"max_labels": 8, "min_confidence": 70.0},
    }
    assert configured_parameters(both, ["min_confidence=default"], KNOWN) == chosen
    assert configured_parameters(both, ["text.thorough=default", "labels.max_labels=default"], KNOWN) == {
        "text": {"min_confidence": 70.0},
        "labels": {"min_confidence": 70.0},
    }
    assert configured_parameters(both, ["none", "faces.upsample=2"], KNOWN) == {"faces": {"upsample": 2}}
    assert describe({}) == "the analyzers' defaults"


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        (
            "text.thoro=1",
            "unknown setting 'text.thoro': the analyzers have faces.upsample, labels.max_labels",
        ),
        ("text.thorough=maybe", "needs true or false"),
        ("labels.max_labels=2.5", "needs a whole number"),
        # out of range: refused here, not by every asset in the worker
        ("labels.min_confidence=150", "'labels.min_confidence' must be 0 to 100, got 150.0"),
        ("min_confidence=nan", "'min_confidence' must be 0 to 100, got nan"),
        ("faces.upsample=3", "'faces.upsample' must be 0 to 2, got 3"),
        ("labels.max_labels=0", "'labels.max_labels' must be 1 to 1000, got 0"),
        ("thorough", "expected ANALYZER.SETTING=VALUE"),
        ("=1", "expected ANALYZER.SETTING=VALUE"),
    ],
)
def test_a_setting_the_analyzers_do_not_have_is_refused_with_what_they_have(pair: str, says: str) -> None:
    with pytest.raises(ParameterError, match=says.replace(".", r"\.")):
        configured_parameters({"labels": {"max_labels": 8}}, [pair], KNOWN)


def test_an_analyzer_whose_provider_this_server_lacks_is_named_in_the_refusal() -> None:
    elsewhere = AnalyzerSettings(
        settings={"labels": {"min_confidence": 50.0}}, missing={"text": "rekognition"}
    )
    with pytest.raises(ParameterError, match=r"does not offer the provider of text \(rekognition\)"):
        configured_parameters({}, ["text.thorough=true"], elsewhere)
