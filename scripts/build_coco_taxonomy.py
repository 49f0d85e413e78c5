"""Build indexer/recognizers/data/coco_taxonomy.json: the 80 COCO classes (in the CenterNet's output order)
as label names with Rekognition-style parents from the same curated WordNet hierarchy as the classifier.

Run once by a developer; the output is committed. A COCO class whose label name is also an ImageNet label
(Dog, Horse, Car, ...) takes that label's parents from data/imagenet_taxonomy.json, so a detected "Dog"
and the classifier's "Dog" are one label; the others get the parents written here (names reused from the
same hierarchy where one fits: "Kite" → "Plaything", "Cow" → "Cattle").

    python scripts/build_coco_taxonomy.py
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "indexer" / "recognizers" / "local" / "data"

# COCO-80 in the model's class order: (COCO name, label name, parents when not taken from ImageNet's).
COCO: list[tuple[str, str, list[str] | None]] = [
    ("person", "Person", ["Human"]),
    ("bicycle", "Bicycle", None),
    ("car", "Car", None),
    ("motorcycle", "Motorcycle", None),
    ("airplane", "Airplane", None),
    ("bus", "Bus", None),
    ("train", "Train", None),
    ("truck", "Truck", None),
    ("boat", "Boat", None),
    ("traffic light", "Traffic Light", ["Signaling Device"]),
    ("fire hydrant", "Fire Hydrant", ["Hydrant"]),
    ("stop sign", "Stop Sign", ["Road Sign", "Sign"]),
    ("parking meter", "Parking Meter", None),
    ("bench", "Bench", None),
    ("bird", "Bird", None),
    ("cat", "Cat", None),
    ("dog", "Dog", None),
    ("horse", "Horse", None),
    ("sheep", "Sheep", None),
    ("cow", "Cow", ["Cattle", "Mammal", "Animal"]),
    ("elephant", "Elephant", None),
    ("bear", "Bear", None),
    ("zebra", "Zebra", None),
    ("giraffe", "Giraffe", ["Mammal", "Animal"]),
    ("backpack", "Backpack", None),
    ("umbrella", "Umbrella", None),
    ("handbag", "Handbag", ["Bag"]),
    ("tie", "Necktie", None),
    ("suitcase", "Suitcase", ["Luggage", "Bag"]),
    ("frisbee", "Frisbee", ["Plaything"]),
    ("skis", "Ski", ["Sports Equipment"]),
    ("snowboard", "Snowboard", ["Sports Equipment"]),
    ("sports ball", "Ball", None),
    ("kite", "Kite", ["Plaything"]),
    ("baseball bat", "Baseball Bat", ["Baseball Equipment", "Sports Equipment"]),
    ("baseball glove", "Baseball Glove", ["Baseball Equipment", "Sports Equipment"]),
    ("skateboard", "Skateboard", ["Sports Equipment"]),
    ("surfboard", "Surfboard", ["Sports Equipment"]),
    ("tennis racket", "Tennis Racket", ["Racket", "Sports Implement"]),
    ("bottle", "Bottle", None),
    ("wine glass", "Wine Glass", ["Glass"]),
    ("cup", "Cup", None),
    ("fork", "Fork", ["Cutlery", "Tableware"]),
    ("knife", "Knife", None),
    ("spoon", "Spoon", None),
    ("bowl", "Bowl", None),
    ("banana", "Banana", None),
    ("apple", "Apple", None),
    ("sandwich", "Sandwich", None),
    ("orange", "Orange", None),
    ("broccoli", "Broccoli", None),
    ("carrot", "Carrot", ["Root Vegetable", "Vegetable", "Produce", "Food"]),
    ("hot dog", "Hot Dog", None),
    ("pizza", "Pizza", None),
    ("donut", "Donut", ["Baked Goods", "Food"]),
    ("cake", "Cake", ["Baked Goods", "Food"]),
    ("chair", "Chair", None),
    ("couch", "Couch", ["Sofa", "Seat", "Furniture"]),  # not ImageNet's: its "Convertible" is a car
    ("potted plant", "Potted Plant", ["Plant"]),
    ("bed", "Bed", None),
    ("dining table", "Dining Table", None),
    ("toilet", "Toilet", []),
    ("tv", "Television", None),
    ("laptop", "Laptop Computer", None),
    ("mouse", "Computer Mouse", None),
    ("remote", "Remote Control", None),
    ("keyboard", "Computer Keyboard", None),
    ("cell phone", "Mobile Phone", None),
    ("microwave", "Microwave Oven", None),
    ("oven", "Oven", None),
    ("toaster", "Toaster", None),
    ("sink", "Sink", None),
    ("refrigerator", "Refrigerator", None),
    ("book", "Book", ["Publication"]),
    ("clock", "Clock", None),
    ("vase", "Vase", None),
    ("scissors", "Scissors", ["Cutting Implement", "Tool"]),
    ("teddy bear", "Teddy Bear", None),
    ("hair drier", "Hair Dryer", None),
    ("toothbrush", "Toothbrush", ["Toiletry"]),
]


def main() -> None:
    imagenet = json.loads((DATA / "imagenet_taxonomy.json").read_text())
    known: dict[str, list[str]] = dict(imagenet["parents"])
    for c in imagenet["classes"]:
        known.setdefault(c["name"], c["ancestors"])
    classes = []
    for coco, name, parents in COCO:
        if parents is None:
            if name not in known:
                raise SystemExit(f"{name!r} is not an ImageNet label: give its parents")
            parents = known[name]
        classes.append({"coco": coco, "name": name, "ancestors": parents})
    if len(classes) != 80:
        raise SystemExit(f"{len(classes)} classes, COCO has 80")
    # each ancestor named above, with its own parents (ImageNet's where it has them, else the path's rest)
    parents: dict[str, list[str]] = {}
    for c in classes:
        path = c["ancestors"]
        for i, name in enumerate(path):
            parents.setdefault(name, known.get(name, path[i + 1 :]))
    out = {
        "source": "COCO-80 in the order of the MobileNetV3 CenterNet in npm @vladmandic/human 3.3.6; "
        "parents from imagenet_taxonomy.json where the label is also an ImageNet label "
        "(scripts/build_coco_taxonomy.py)",
        "classes": classes,
        "parents": dict(sorted(parents.items())),
    }
    (DATA / "coco_taxonomy.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(classes)} classes to {DATA / 'coco_taxonomy.json'}")


if __name__ == "__main__":
    main()
