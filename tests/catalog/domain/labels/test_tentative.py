"""The classifier's tentative labels (below its min_confidence) count only when nothing else is sure."""

from __future__ import annotations

from catalog.domain.metadata import machine_labels, metadata_text, tentative_labels
from catalog.domain.model import BoundingBox, Face, Findings, Instance, Label, RecognitionResult
from tests.catalog.domain.assets import an_asset

BOX = BoundingBox(0.1, 0.1, 0.5, 0.8)
ROCKET = (
    Label("Missile", 41.7, ("Rocket", "Weapon", "Vehicle")),
    Label("Weapon", 41.9),
    Label("Rocket", 27.6, ("Vehicle",)),
)
LABELS_RUN = {"min_confidence": 50.0, "max_labels": 20, "tentative_confidence": 25.0}


def run(analyzer: str, findings: Findings, **parameters: object) -> RecognitionResult:
    return RecognitionResult("a1", analyzer, "model", "1", findings, parameters=dict(parameters))


def classifier(*labels: Label, **parameters: object) -> RecognitionResult:
    return run("labels", Findings(labels=labels), **(parameters or LABELS_RUN))


def detector(*labels: Label) -> RecognitionResult:
    return run("objects", Findings(labels=labels), min_confidence=25.0)


def names(labels: tuple[Label, ...]) -> list[str]:
    return [lb.name for lb in labels]


def test_alone_they_are_the_assets_labels_specific_first() -> None:
    assert names(machine_labels({"labels": classifier(*ROCKET)})) == ["Missile", "Weapon", "Rocket"]


def test_an_unsure_detector_does_not_silence_them() -> None:
    found = machine_labels({"labels": classifier(*ROCKET), "objects": detector(Label("Clock", 35.1))})
    assert names(found) == ["Missile", "Weapon", "Clock", "Rocket"]


def test_a_sure_detector_label_or_face_replaces_them() -> None:
    bobsleigh = (Label("Bobsleigh", 27.9, ("Sled", "Vehicle")), Label("Vehicle", 40.9))
    person = Label("Person", 61.0, ("Human",), (Instance(BOX, 61.0),))
    found = machine_labels({"labels": classifier(*bobsleigh), "objects": detector(person)})
    assert names(found) == ["Person"]
    face = run("faces", Findings(faces=(Face(BOX, 99.0),)))
    assert names(machine_labels({"labels": classifier(*bobsleigh), "faces": face})) == ["Person"]


def test_sure_classifier_labels_and_runs_without_a_floor_are_kept_as_they_are() -> None:
    cat = (Label("Cat", 92.2, ("Animal",)), Label("Animal", 94.0))
    dog = detector(Label("Dog", 61.0, ("Animal",)))
    assert names(machine_labels({"labels": classifier(*cat), "objects": dog})) == ["Cat", "Dog", "Animal"]
    # a run made before tentative labels (or by Rekognition at its own MinConfidence): all of it is sure
    old = classifier(Label("Kite", 30.0), min_confidence=25.0, max_labels=20)
    assert names(machine_labels({"labels": old, "objects": dog})) == ["Dog", "Kite"]


def test_the_meaning_text_describes_the_sure_labels_or_else_the_tentative_ones() -> None:
    asset = an_asset("IMG_0001.jpg")

    def described(results: dict[str, RecognitionResult]) -> str:
        return metadata_text(asset, machine_labels(results), [], [], None, tentative_labels(results))

    rocket = {"labels": classifier(*ROCKET), "objects": detector(Label("Clock", 35.1))}
    assert described(rocket) == "Missile, Rocket, Weapon, Vehicle. IMG"  # not the detector's guess
    moon = {"labels": classifier(), "objects": detector(Label("Kite", 30.0))}
    assert described(moon) == "IMG"  # "Kite 30" is a label (search finds it), not a description
    cat = {"labels": classifier(Label("Cat", 92.2, ("Animal",))), "objects": detector(Label("Dog", 47.0))}
    assert described(cat) == "Cat, Animal. IMG"
    person = Label("Person", 61.0, ("Human",), (Instance(BOX, 61.0),))
    astronaut = {"labels": classifier(Label("Bobsleigh", 27.9)), "objects": detector(person)}
    assert described(astronaut) == "Person, Human. a person. IMG"
