"""Each keyword of an export names the model that said it (not the classifier's for every label), or the
reviewers."""

from __future__ import annotations

from catalog.domain.export_profile import ExportProfile, apply_profile
from catalog.domain.export_record import export_record
from catalog.domain.model import BoundingBox, Face, Findings, Instance, Label, RecognitionResult
from indexer.metadata.xmp_mapping import xmp_values
from tests.catalog.domain.assets import an_asset

ASSET = an_asset()
BOX = BoundingBox(0.1, 0.1, 0.3, 0.3)


def run(analyzer: str, model: str, findings: Findings, provider: str = "local") -> RecognitionResult:
    return RecognitionResult("a1", analyzer, model, f"{model}-v", findings, provider=provider)


def test_every_keyword_names_the_model_that_said_it() -> None:
    results = {
        "labels": run("labels", "efficientnet", Findings(labels=(Label("Cup", 91.0), Label("Coffee", 88.0)))),
        "objects": run(
            "objects",
            "centernet",
            Findings(labels=(Label("Cup", 46.6, (), (Instance(BOX, 46.6),)), Label("Dining Table", 60.0))),
        ),
        "concept:mug": run("concept:mug", "probe", Findings(labels=(Label("Mug", 80.0),))),
        "faces": run("faces", "dlib", Findings(faces=(Face(BOX, 99.0),))),
        "review": run("review", "consensus", Findings(labels=(Label("Espresso", 100.0),)), "human"),
    }
    models = {k.name: (k.model, k.model_version) for k in export_record(ASSET, results).keywords}
    assert models == {
        "Cup": ("efficientnet", "efficientnet-v"),  # the more confident of the two that said it
        "Coffee": ("efficientnet", "efficientnet-v"),
        "Dining Table": ("centernet", "centernet-v"),
        "Mug": ("probe", "probe-v"),
        "Person": ("dlib", "dlib-v"),  # from the face
        "Espresso": ("consensus", "consensus-v"),  # a reviewer named it
    }
    by_reviewers = {k.name for k in export_record(ASSET, results).keywords if k.by_reviewers}
    assert by_reviewers == {"Espresso"}


def test_a_reviewers_verdict_is_no_machine_keyword_and_stays_in_a_human_only_export() -> None:
    """XMP's MachineKeywords and Models leave a reviewer's label out (it read 'human-review 1'); a
    human-only profile, "only what people wrote", keeps it beside the file's own keywords."""
    results = {
        "labels": run("labels", "efficientnet", Findings(labels=(Label("Bird", 40.0), Label("Sky", 90.0)))),
        "review": run("review", "human-review", Findings(labels=(Label("Bird", 100.0),)), "human"),
    }
    record = export_record(ASSET, results)
    values = xmp_values(record)
    assert values["Xmp.msight.MachineKeywords"] == ["Sky"]
    assert values["Xmp.msight.Models"] == ["efficientnet efficientnet-v"]
    assert {"Bird", "Sky"} <= set(values["Xmp.dc.subject"])
    human = apply_profile(record, ExportProfile("people", human_only=True))
    assert [k.name for k in human.keywords] == ["Bird"] and human.regions == ()
