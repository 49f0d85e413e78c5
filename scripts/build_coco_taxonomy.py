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

# COCO-80 in the model's class order: (COCO name, label name, its WordNet 3.0 sense, parents when not taken
# from ImageNet's). The sense is the one a photo of the class shows ("kite" the toy, not the hawk; "tv" the
# receiver; "stop sign" WordNet has only as a street sign); scripts/build_label_glosses.py reads it.
COCO: list[tuple[str, str, str, list[str] | None]] = [
    ("person", "Person", "n00007846", ["Human"]),
    ("bicycle", "Bicycle", "n02834778", None),
    ("car", "Car", "n02958343", None),
    ("motorcycle", "Motorcycle", "n03790512", None),
    ("airplane", "Airplane", "n02691156", None),
    ("bus", "Bus", "n02924116", None),
    ("train", "Train", "n04468005", None),
    ("truck", "Truck", "n04490091", None),
    ("boat", "Boat", "n02858304", None),
    ("traffic light", "Traffic Light", "n06874185", ["Signaling Device"]),
    ("fire hydrant", "Fire Hydrant", "n03346898", ["Hydrant"]),
    ("stop sign", "Stop Sign", "n06794110", ["Road Sign", "Sign"]),
    ("parking meter", "Parking Meter", "n03891332", None),
    ("bench", "Bench", "n02828884", None),
    ("bird", "Bird", "n01503061", None),
    ("cat", "Cat", "n02121620", None),
    ("dog", "Dog", "n02084071", None),
    ("horse", "Horse", "n02374451", None),
    ("sheep", "Sheep", "n02411705", None),
    ("cow", "Cow", "n02403454", ["Cattle", "Mammal", "Animal"]),
    ("elephant", "Elephant", "n02503517", None),
    ("bear", "Bear", "n02131653", None),
    ("zebra", "Zebra", "n02391049", None),
    ("giraffe", "Giraffe", "n02439033", ["Mammal", "Animal"]),
    ("backpack", "Backpack", "n02769748", None),
    ("umbrella", "Umbrella", "n04507155", None),
    ("handbag", "Handbag", "n02774152", ["Bag"]),
    ("tie", "Necktie", "n03815615", None),
    ("suitcase", "Suitcase", "n02773838", ["Luggage", "Bag"]),
    ("frisbee", "Frisbee", "n03397947", ["Plaything"]),
    ("skis", "Ski", "n04228054", ["Sports Equipment"]),
    ("snowboard", "Snowboard", "n04251791", ["Sports Equipment"]),
    ("sports ball", "Ball", "n02778669", None),
    ("kite", "Kite", "n03621473", ["Plaything"]),
    ("baseball bat", "Baseball Bat", "n02799175", ["Baseball Equipment", "Sports Equipment"]),
    ("baseball glove", "Baseball Glove", "n02800213", ["Baseball Equipment", "Sports Equipment"]),
    ("skateboard", "Skateboard", "n04225987", ["Sports Equipment"]),
    ("surfboard", "Surfboard", "n04363559", ["Sports Equipment"]),
    ("tennis racket", "Tennis Racket", "n04409806", ["Racket", "Sports Implement"]),
    ("bottle", "Bottle", "n02876657", None),
    ("wine glass", "Wine Glass", "n04592099", ["Glass"]),
    ("cup", "Cup", "n03147509", None),
    ("fork", "Fork", "n03383948", ["Cutlery", "Tableware"]),
    ("knife", "Knife", "n03623556", None),
    ("spoon", "Spoon", "n04284002", None),
    ("bowl", "Bowl", "n02881193", None),
    ("banana", "Banana", "n07753592", None),
    ("apple", "Apple", "n07739125", None),
    ("sandwich", "Sandwich", "n07695965", None),
    ("orange", "Orange", "n07747607", None),
    ("broccoli", "Broccoli", "n07714990", None),
    ("carrot", "Carrot", "n07730207", ["Root Vegetable", "Vegetable", "Produce", "Food"]),
    ("hot dog", "Hot Dog", "n07697537", None),
    ("pizza", "Pizza", "n07873807", None),
    ("donut", "Donut", "n07639069", ["Baked Goods", "Food"]),
    ("cake", "Cake", "n07628870", ["Baked Goods", "Food"]),
    ("chair", "Chair", "n03001627", None),
    (
        "couch",
        "Couch",
        "n04256520",
        ["Sofa", "Seat", "Furniture"],
    ),  # not ImageNet's: its "Convertible" is a car
    ("potted plant", "Potted Plant", "n11536230", ["Plant"]),
    ("bed", "Bed", "n02818832", None),
    ("dining table", "Dining Table", "n03201208", None),
    ("toilet", "Toilet", "n04446521", []),
    ("tv", "Television", "n04405907", None),
    ("laptop", "Laptop Computer", "n03642806", None),
    ("mouse", "Computer Mouse", "n03793489", None),
    ("remote", "Remote Control", "n04074963", None),
    ("keyboard", "Computer Keyboard", "n03085013", None),
    ("cell phone", "Mobile Phone", "n02992529", None),
    ("microwave", "Microwave Oven", "n03761084", None),
    ("oven", "Oven", "n03862676", None),
    ("toaster", "Toaster", "n04442312", None),
    ("sink", "Sink", "n04223580", None),
    ("refrigerator", "Refrigerator", "n04070727", None),
    ("book", "Book", "n02870092", ["Publication"]),
    ("clock", "Clock", "n03046257", None),
    ("vase", "Vase", "n04522168", None),
    ("scissors", "Scissors", "n04148054", ["Cutting Implement", "Tool"]),
    ("teddy bear", "Teddy Bear", "n04399382", None),
    ("hair drier", "Hair Dryer", "n03483316", None),
    ("toothbrush", "Toothbrush", "n04453156", ["Toiletry"]),
]


def main() -> None:
    imagenet = json.loads((DATA / "imagenet_taxonomy.json").read_text())
    known: dict[str, list[str]] = dict(imagenet["parents"])
    for c in imagenet["classes"]:
        known.setdefault(c["name"], c["ancestors"])
    classes = []
    for coco, name, wnid, parents in COCO:
        if parents is None:
            if name not in known:
                raise SystemExit(f"{name!r} is not an ImageNet label: give its parents")
            parents = known[name]
        classes.append({"coco": coco, "name": name, "wnid": wnid, "ancestors": parents})
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
