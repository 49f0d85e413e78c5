"""A lone detection the classifier names better takes the classifier's name (labels.detections)."""

from __future__ import annotations

from catalog.domain.labels.detections import name_detections
from catalog.domain.metadata import machine_labels
from catalog.domain.model import BoundingBox, Findings, Instance, Label, RecognitionResult

BOX = BoundingBox(0.02, 0.08, 0.96, 0.88)
SMALL = BoundingBox(0.65, 0.44, 0.1, 0.15)
CORNER = BoundingBox(0.02, 0.7, 0.2, 0.28)
CAT_FAMILY = ("Big Cat", "Feline", "Carnivore", "Mammal", "Animal")
DOG_FAMILY = ("Canine", "Pet", "Carnivore", "Mammal", "Animal")
CHEETAH = (
    Label("Cheetah", 83.0, CAT_FAMILY),
    *(Label(p, 90.0, CAT_FAMILY[i + 1 :]) for i, p in enumerate(CAT_FAMILY)),
)
LABELS_RUN = {"min_confidence": 50.0, "max_labels": 20, "tentative_confidence": 25.0}


def dog(confidence: float = 65.0, *boxes: BoundingBox) -> tuple[Label, ...]:
    """The detector's Dog with its boxes and its parent labels, as objects.object_labels makes them."""
    instances = tuple(Instance(b, confidence) for b in boxes or (BOX,))
    return (
        Label("Dog", confidence, DOG_FAMILY, instances),
        *(Label(p, confidence, DOG_FAMILY[i + 1 :]) for i, p in enumerate(DOG_FAMILY)),
    )


def named(labels: tuple[Label, ...]) -> dict[str, Label]:
    return {lb.name: lb for lb in labels}


def test_the_cheetah_the_detector_calls_a_dog_is_a_cheetah_with_the_box() -> None:
    found = named(name_detections(CHEETAH, dog()))
    assert found["Cheetah"].instances == (Instance(BOX, 65.0),)
    assert found["Cheetah"].confidence == 83.0
    assert not {"Dog", "Canine", "Pet", "Carnivore", "Mammal", "Animal"} & set(
        found
    )  # nothing else found them


def test_a_small_box_of_another_family_member_too() -> None:
    ladybug = (Label("Ladybug", 94.0, ("Beetle", "Insect", "Invertebrate", "Animal")), Label("Animal", 99.0))
    bird = (Label("Bird", 40.0, ("Animal",), (Instance(SMALL, 40.0),)), Label("Animal", 40.0))
    assert [(lb.name, lb.instances) for lb in name_detections(ladybug, bird)] == [
        ("Ladybug", (Instance(SMALL, 40.0),))
    ]


def test_detections_that_agree_or_are_of_another_family_or_surer_are_kept() -> None:
    person = Label("Person", 77.0, ("Human",), (Instance(BOX, 77.0),))
    bed = Label("Bed", 26.0, ("Bedroom Furniture", "Furniture"), (Instance(SMALL, 26.0),))
    assert name_detections(CHEETAH, (person, bed)) == (person, bed)  # no shared parent
    cat = Label("Cat", 70.0, ("Feline", "Carnivore", "Mammal", "Animal"), (Instance(BOX, 70.0),))
    tabby = (Label("Tabby Cat", 60.0, ("Cat", "Feline", "Carnivore", "Mammal", "Animal")),)
    assert name_detections(tabby, (cat,)) == (cat,)  # the detector is the surer
    assert name_detections(CHEETAH[:1], dog(90.0)) == dog(90.0)
    egyptian = Label("Egyptian Mau", 70.0, ("Cat", "Feline", "Carnivore", "Mammal", "Animal"), cat.instances)
    assert name_detections(tabby, (egyptian,)) == (egyptian,)  # a sibling the detector is surer of


def test_a_coarser_detection_agrees_and_keeps_its_box() -> None:
    soccer = (
        Label("Soccer Ball", 72.0, ("Ball", "Game Equipment")),
        Label("Ball", 82.0, ("Game Equipment",)),
    )
    ball = (Label("Ball", 63.0, ("Game Equipment",), (Instance(SMALL, 63.0),)), Label("Game Equipment", 63.0))
    assert name_detections(soccer, ball) == ball


def test_several_things_of_the_family_keep_their_names() -> None:
    lemon = (Label("Lemon", 79.0, ("Citrus", "Fruit", "Produce", "Food")),)
    orange = Label("Orange", 31.0, ("Citrus", "Fruit"), (Instance(BOX, 31.0), Instance(SMALL, 30.0)))
    apple = Label("Apple", 33.0, ("Fruit",), (Instance(CORNER, 33.0),))
    assert name_detections(lemon, (orange,)) == (orange,)  # two boxes: two oranges
    assert name_detections(lemon, (orange, apple)) == (orange, apple)  # an orange and an apple
    assert name_detections(CHEETAH, dog(65.0, BOX, SMALL)) == dog(65.0, BOX, SMALL)  # two animals
    # the detector also found what the classifier names: the dog beside it is another animal
    cheetah_box = Label("Cheetah", 50.0, CAT_FAMILY, (Instance(SMALL, 50.0),))
    assert name_detections(CHEETAH, (cheetah_box, *dog())) == (cheetah_box, *dog())


def test_a_weak_box_of_the_whole_frame_stays_only_where_the_classifier_bears_it_out() -> None:
    frame = BoundingBox(0.05, 0.02, 0.94, 0.94)
    painting_dog = dog(36.0, frame)
    assert name_detections((), painting_dog) == ()  # nothing said: no Dog on a painting of a night sky
    lion = (Label("Lion", 88.0, CAT_FAMILY[1:]),)
    bed = Label("Bed", 26.0, ("Bedroom Furniture", "Furniture"), (Instance(frame, 26.0),))
    found = named(name_detections(lion, (*dog(31.0, frame), bed, Label("Furniture", 26.0))))
    assert set(found) == {"Lion"} and found["Lion"].instances == (Instance(frame, 31.0),)
    badger = (Label("Badger", 29.0, ("Carnivore", "Mammal", "Animal")),)  # an unsure word of the family
    assert name_detections((), dog(33.0, frame), badger) == dog(33.0, frame)
    sure = dog(60.0, frame)  # a sure box of the whole frame, or a weak one that locates something, stay
    assert name_detections((), sure) == sure and name_detections((), dog(36.0, SMALL)) == dog(36.0, SMALL)
    mixed = Label("Cake", 40.0, ("Food",), (Instance(frame, 40.0), Instance(SMALL, 30.0)))
    assert name_detections((), (mixed,)) == (Label("Cake", 30.0, ("Food",), (Instance(SMALL, 30.0),)),)


def test_asset_labels_have_one_cheetah_with_the_box_and_no_dog() -> None:
    def run(analyzer: str, labels: tuple[Label, ...], **parameters: object) -> RecognitionResult:
        return RecognitionResult(
            "a1", analyzer, "m", "1", Findings(labels=labels), parameters=dict(parameters)
        )

    found = machine_labels(
        {
            "labels": run("labels", CHEETAH, **LABELS_RUN),
            "objects": run("objects", dog(), min_confidence=25.0),
        }
    )
    assert found[0].name == "Cheetah" and found[0].instances == (Instance(BOX, 65.0),)
    assert "Dog" not in {lb.name for lb in found}


BIRD_BOX = BoundingBox(0.63, 0.21, 0.02, 0.027)
PALACE = (
    Label("Palace", 72.0, ("House", "Building")),
    Label("House", 79.0, ("Building",)),
    Label("Building", 81.0),
)


def test_one_thing_boxed_as_two_classes_keeps_the_surer_box() -> None:
    bird = Label("Bird", 48.0, ("Animal",), (Instance(SMALL, 48.0), Instance(BIRD_BOX, 34.0)))
    kite = Label("Kite", 31.0, ("Plaything",), (Instance(BIRD_BOX, 31.0),))
    found = name_detections(PALACE, (bird, kite, Label("Animal", 48.0), Label("Plaything", 31.0)))
    assert found == (bird, Label("Animal", 48.0))  # the Kite and its Plaything were the birds again
    # a box mostly over another (IoU 0.83: a Remote Control on a Person), the Person the surer
    person = Label("Person", 33.0, ("Human",), (Instance(BoundingBox(0.767, 0.035, 0.231, 0.951), 33.0),))
    remote = Label(
        "Remote Control", 26.0, ("Device",), (Instance(BoundingBox(0.723, 0.047, 0.277, 0.94), 26.0),)
    )
    assert name_detections((), (person, remote)) == (person,)
    # things of different classes that only touch or overlap partly are different things
    rider = Label("Person", 60.0, ("Human",), (Instance(BoundingBox(0.3, 0.1, 0.3, 0.6), 60.0),))
    horse = Label("Horse", 55.0, ("Mammal",), (Instance(BoundingBox(0.2, 0.35, 0.5, 0.6), 55.0),))
    assert name_detections((), (rider, horse)) == (rider, horse)


def test_one_thing_boxed_twice_keeps_the_box_the_classifier_bears_out_best() -> None:
    citrus = (
        Label("Lemon", 79.0, ("Citrus", "Fruit", "Produce", "Food")),
        Label("Citrus", 96.0, ("Fruit", "Produce", "Food")),
        Label("Fruit", 97.0, ("Produce", "Food")),
    )
    apple = Label(
        "Apple", 33.0, ("Fruit", "Produce", "Food"), (Instance(SMALL, 33.0), Instance(CORNER, 26.0))
    )
    orange = Label("Orange", 31.0, ("Citrus", "Fruit", "Produce", "Food"), (Instance(SMALL, 31.0),))
    found = named(name_detections(citrus, (apple, orange)))
    assert found["Orange"].instances == (Instance(SMALL, 31.0),)  # Citrus is nearer the lemon than Fruit
    assert found["Apple"] == Label("Apple", 26.0, apple.parents, (Instance(CORNER, 26.0),))
    # with nothing said of either, the surer: the Apple
    assert named(name_detections((), (apple, orange)))["Apple"] == apple


def test_a_weak_box_beneath_the_classifiers_surest_word_takes_that_word() -> None:
    mammal = (Label("Mammal", 67.0, ("Animal",)), Label("Animal", 73.0))
    bear = (
        Label("Bear", 39.0, ("Carnivore", "Mammal", "Animal"), (Instance(BOX, 39.0),)),
        Label("Carnivore", 39.0, ("Mammal", "Animal")),
        Label("Mammal", 39.0, ("Animal",)),
        Label("Animal", 39.0),
    )
    assert name_detections(mammal, bear) == (Label("Mammal", 67.0, ("Animal",), (Instance(BOX, 39.0),)),)
    sure = (Label("Bear", 80.0, bear[0].parents, (Instance(BOX, 80.0),)), *bear[1:])
    assert named(name_detections(mammal, sure))["Bear"] == sure[0]  # a sure box is the finer finding
    # raccoon: a Cat and a Dog on one box, the classifier sure of Carnivore only: one Carnivore box
    carnivore = (Label("Carnivore", 53.0, ("Mammal", "Animal")), *mammal)
    raccoon = machine_labels(
        {
            "labels": RecognitionResult(
                "a1", "labels", "m", "1", Findings(labels=carnivore), parameters=LABELS_RUN
            ),
            "objects": RecognitionResult(
                "a1",
                "objects",
                "m",
                "1",
                Findings(
                    labels=(
                        *dog(26.0),
                        Label(
                            "Cat",
                            33.0,
                            ("Feline", "Pet", "Carnivore", "Mammal", "Animal"),
                            (Instance(BOX, 33.0),),
                        ),
                    )
                ),
            ),
        }
    )
    assert [(lb.name, lb.instances) for lb in raccoon][:1] == [("Carnivore", (Instance(BOX, 33.0),))]
    assert not {"Cat", "Dog", "Feline", "Canine", "Pet"} & {lb.name for lb in raccoon}
