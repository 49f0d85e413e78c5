"""Each machine keyword of an export names the model that said it (not the classifier's for every label)."""

from __future__ import annotations

from catalog.domain.export_record import export_record
from catalog.domain.model import BoundingBox, Face, Findings, Instance, Label, RecognitionResult
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
