"""Labels merged across analyzers and ordered so the specific thing comes first."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from catalog.domain.codec import decode_findings, encode_findings
from catalog.domain.labels.order import merge_labels, specific_first, specific_labels, top_labels
from catalog.domain.metadata import current_labels
from catalog.domain.model import BoundingBox, Face, Findings, Instance, Label, RecognitionResult

BOX = BoundingBox(0.1, 0.2, 0.3, 0.4)
DOG_PARENTS = ("Canine", "Pet", "Carnivore", "Mammal", "Animal")


def result(analyzer: str, findings: Findings) -> RecognitionResult:
    return RecognitionResult("a", analyzer, "m", "1", findings)


def test_a_parent_never_comes_before_its_child_and_unrelated_labels_keep_their_rank() -> None:
    labels = [
        Label("Animal", 97.0),
        Label("Mammal", 96.0, ("Animal",)),
        Label("Canine", 93.0, ("Carnivore", "Mammal", "Animal")),
        Label("Person", 95.0, ("Human",)),
        Label("Dog", 88.0, DOG_PARENTS),
        Label("Human", 95.0),
        Label("Grass", 60.0, ("Plant",)),
    ]
    assert [lb.name for lb in specific_first(labels)] == [
        "Person", "Human", "Dog", "Canine", "Mammal", "Animal", "Grass",
    ]  # fmt: skip
    assert [lb.name for lb in specific_labels(specific_first(labels))] == ["Person", "Dog", "Grass"]


NAMES = ["A", "B", "C", "D", "E", "F"]


@given(
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.floats(0, 100), st.lists(st.sampled_from(NAMES), max_size=3)),
        max_size=8,
        unique_by=lambda t: t[0],
    )
)
def test_order_holds_for_any_hierarchy(rows: list[tuple[str, float, list[str]]]) -> None:
    # a hierarchy: parents only further down the alphabet (no cycles)
    labels = [Label(n, c, tuple(p for p in ps if p > n)) for n, c, ps in rows]
    ordered = specific_first(labels)
    assert sorted(ordered, key=lambda lb: lb.name) == sorted(labels, key=lambda lb: lb.name)  # a permutation
    position = {lb.name: i for i, lb in enumerate(ordered)}
    for child, parent in itertools.product(labels, labels):
        if parent.name in child.parents:
            assert position[child.name] < position[parent.name]
    # and among labels unrelated to the others, confidence decides
    free = [lb for lb in ordered if not lb.parents and not any(lb.name in o.parents for o in labels)]
    assert [lb.confidence for lb in free] == sorted((lb.confidence for lb in free), reverse=True)


def test_a_cycle_of_parents_does_not_hang() -> None:
    labels = [Label("A", 50.0, ("B",)), Label("B", 60.0, ("A",)), Label("C", 40.0)]
    assert sorted(lb.name for lb in specific_first(labels)) == ["A", "B", "C"]


def test_the_classifier_and_the_detector_make_one_label_per_concept() -> None:
    classifier = (Label("Dog", 72.0, DOG_PARENTS), Label("Animal", 90.0))
    detector = (
        Label("dog", 64.0, ("Canine", "Animal"), (Instance(BOX, 64.0),)),
        Label("Kite", 40.0, ("Plaything",), (Instance(BOX, 40.0), Instance(BOX, 35.0))),
    )
    merged = {lb.name: lb for lb in merge_labels([classifier, detector])}
    assert set(merged) == {"Dog", "Animal", "Kite"}
    assert merged["Dog"] == Label("Dog", 72.0, DOG_PARENTS, (Instance(BOX, 64.0),))


def test_current_labels_merge_analyzers_and_give_person_its_boxes() -> None:
    face = Face(BoundingBox(0.4, 0.1, 0.1, 0.1), 99.0)
    results = {
        "labels": result("labels", Findings(labels=(Label("Kite Bird", 20.0), Label("Animal", 55.0)))),
        "objects": result(
            "objects", Findings(labels=(Label("Kite", 81.0, ("Plaything",), (Instance(BOX, 81),)),))
        ),
        "faces": result("faces", Findings(faces=(face,))),
    }
    labels = current_labels(results)
    assert [lb.name for lb in labels] == ["Person", "Kite", "Animal", "Kite Bird"]
    assert labels[0].instances == (Instance(face.box, 99.0),)  # no body box from a detector: the face's
    body = Label("Person", 90.0, ("Human",), (Instance(BOX, 90.0),))
    results["objects"] = result("objects", Findings(labels=(body,)))
    # the detector's body box, at the face's confidence (a face makes Person sure)
    assert current_labels(results)[0] == Label("Person", 99.0, ("Human",), (Instance(BOX, 90.0),))


def test_instances_roundtrip_and_labels_without_them_encode_as_before() -> None:
    findings = Findings(
        labels=(Label("Kite", 81.5, ("Plaything",), (Instance(BOX, 81.5),)), Label("Sky", 70.0))
    )
    encoded = encode_findings(findings)
    assert encoded["labels"][1] == ["Sky", 70.0, []]
    assert decode_findings(encoded) == findings


def test_top_labels_are_the_sure_specific_ones_or_the_best_guess_alone() -> None:
    person = Label("Person", 99.9, ("Human",))
    labels = [
        person,
        Label("Human", 99.9),
        Label("Minibus", 71.4, ("Vehicle",)),
        Label("Dog", 29.8, ("Animal",)),
    ]
    assert [lb.name for lb in top_labels(labels, 3)] == ["Person", "Minibus"]  # no Human, no Dog guess
    assert [lb.name for lb in top_labels(labels, 3, min_confidence=20)] == ["Person", "Minibus", "Dog"]
    assert [lb.name for lb in top_labels(labels, 1)] == ["Person"]
    unsure = [Label("Missile", 41.7, ("Weapon",)), Label("Weapon", 41.9), Label("Rocket", 27.6)]
    assert [lb.name for lb in top_labels(unsure, 3)] == ["Missile"]  # nothing sure: its best, alone


def test_a_reviewers_label_makes_its_parents_sure_but_not_human() -> None:
    """The reviewers confirmed Bird: the classifier's "Animal? 36.7" is an Animal as sure as a machine label
    can be (99.99); 100 stays the mark of a person's own verdict."""
    results = {
        "labels": result(
            "labels", Findings(labels=(Label("Animal", 36.7), Label("Bird", 30.0, ("Animal",))))
        ),
        "review": RecognitionResult(
            "a",
            "review",
            "human-review",
            "1",
            Findings(labels=(Label("Bird", 100.0, ("Animal",)),)),
            provider="human",
        ),
    }
    assert [(lb.name, lb.confidence) for lb in current_labels(results)] == [
        ("Bird", 100.0),
        ("Animal", 99.99),
    ]
