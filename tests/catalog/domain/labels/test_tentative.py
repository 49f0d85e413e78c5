"""The classifier's tentative labels (below its min_confidence) count only when nothing else is sure."""

from __future__ import annotations

from catalog.domain.labels.order import sure_or_best
from catalog.domain.metadata import current_labels, machine_labels, metadata_text, tentative_labels
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
    # Rocket, Missile's parent, is as sure as the Missile (41.7), so the whole branch comes before the Clock
    assert names(found) == ["Missile", "Weapon", "Rocket", "Clock"]


def test_a_sure_detector_label_or_face_replaces_them() -> None:
    bobsleigh = (Label("Bobsleigh", 27.9, ("Sled", "Vehicle")), Label("Vehicle", 40.9))
    person = Label("Person", 61.0, ("Human",), (Instance(BOX, 61.0),))
    found = machine_labels({"labels": classifier(*bobsleigh), "objects": detector(person)})
    assert names(found) == ["Person"]
    face = run("faces", Findings(faces=(Face(BOX, 99.0),)))
    assert names(machine_labels({"labels": classifier(*bobsleigh), "faces": face})) == ["Person"]


def test_a_face_that_makes_person_sure_makes_its_parent_sure_too() -> None:
    # the mariachi band: the detector's people at 43 and under, a face at 98 (seen: "Person 98, Human? 43")
    boxes = (Instance(BOX, 43.0), Instance(BOX, 29.0))
    weak = detector(Label("Person", 43.0, ("Human",), boxes), Label("Human", 43.0))
    face = run("faces", Findings(faces=(Face(BOX, 98.0),)))
    found = {lb.name: lb for lb in machine_labels({"labels": classifier(), "objects": weak, "faces": face})}
    assert found["Person"].confidence == 98.0
    assert found["Human"].confidence == 98.0  # a parent is never less sure than what is beneath it
    assert names(machine_labels({"labels": classifier(), "objects": weak, "faces": face})) == [
        "Person",
        "Human",
    ]


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


# sklearn's china.jpg as the pipeline sees it: a pagoda the classifier is unsure of (Palace 34, tentative,
# under House and Building 48), and eight weak Bird boxes the detector put on the boats of the lake below
CHINA = (
    Label("Building", 47.9),
    Label("House", 40.3, ("Building",)),
    Label("Palace", 34.4, ("House", "Building")),
)
BIRDS = (
    Label("Bird", 38.4, ("Animal",), (Instance(BoundingBox(0.6, 0.6, 0.02, 0.02), 38.4),)),
    Label("Animal", 38.4),
)


def test_a_detector_guess_does_not_come_before_what_the_classifier_is_surer_of() -> None:
    found = current_labels({"labels": classifier(*CHINA), "objects": detector(*BIRDS)})
    assert names(found) == ["Palace", "House", "Building", "Bird", "Animal"]
    assert sure_or_best(found, 50.0) == [found[0]]  # topLabels: the Palace, said at 34
    # the same with Building sure: its tentative Palace still names it, before the birds
    sure = (Label("Building", 52.0), *CHINA[1:])
    found = machine_labels({"labels": classifier(*sure), "objects": detector(*BIRDS)})
    assert names(found)[0] == "Palace"


def test_a_guess_surer_than_anything_the_classifier_says_still_comes_first() -> None:
    valley = classifier(Label("Valley", 32.3))  # a city seen from above, its cars boxed at 39
    car = Label("Car", 38.5, ("Vehicle",), (Instance(BOX, 38.5),))
    found = current_labels({"labels": valley, "objects": detector(car, Label("Vehicle", 38.5))})
    assert names(found) == ["Car", "Vehicle", "Valley"]
    # what the classifier also found is no guess: its Bird is as sure as it says, before the Palace
    both = classifier(*CHINA, Label("Bird", 20.0, ("Animal",)))
    found = current_labels({"labels": both, "objects": detector(*BIRDS)})
    assert names(found)[0] == "Bird"


def test_a_sure_detection_makes_its_parents_as_sure() -> None:
    # dated.jpg's coffee cup: the detector's Cup 95.1 beside the classifier's Crockery and Tableware 54
    cup = Label("Cup", 95.1, ("Crockery", "Tableware"), (Instance(BOX, 95.1),))
    crockery = (Label("Crockery", 54.0, ("Tableware",)), Label("Tableware", 54.0))
    found = machine_labels({"labels": classifier(*crockery), "objects": detector(cup)})
    assert [(lb.name, lb.confidence) for lb in found] == [
        ("Cup", 95.1),
        ("Crockery", 95.1),
        ("Tableware", 95.1),
    ]
