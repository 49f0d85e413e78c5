"""The detector's boxes named by the classifier where the classifier knows the thing better (pure functions).

COCO has ten animal classes, ImageNet four hundred: the detector finds the cheetah, the lion, the squirrel
and the ladybug where they are, but calls them Dog, Dog, Bird and Bird, while the classifier is sure of
Cheetah, Lion, Fox Squirrel and Ladybug. A detection contradicts a sure classifier label when the two are
of one family (they share a parent: Carnivore, Animal) without one being the other or beneath it. Its box
then goes to the classifier's label, which is what the box shows, and the detector's name goes with its
parents that nothing else found (no "Dog", "Canine", "Pet" on a cheetah). A detection of the classifier's
thing or of a class above it agrees and keeps its box (the detector's Cup under the classifier's Espresso).

Only where the picture is about one thing: the classifier names one subject, so this applies when a single
box is in question, the classifier is the more confident, and the detector found nothing that is the
classifier's thing or beneath it. Several boxes of the family (apples and oranges beside the lemon the
classifier saw) are several things, and keep the detector's names.

A weak box around nearly the whole picture locates nothing: its class is a guess about the whole picture,
and that is the classifier's to make. Such a box stays only where the classifier said something of its
family (the lion's box is the lion's; the Bed under it goes, and so does Dog 36 on a painting).

One thing, one name: the detector scores every class at every place, so one bird can come out as a Bird
box and a Kite box, one lemon as an Apple and an Orange. Boxes of different labels that overlap by
SAME_THING_IOU or more are one thing: the box whose label the classifier bears out (it said that label,
one above it or one beneath it: the deepest such word wins) stays, else the surer box.

A weak box beneath what the classifier is sure of is named by the classifier: where the classifier says
"Mammal 67" and nothing more specific, the detector's "Bear 39" on a quokka is a guess at which mammal;
the box is a Mammal's (Carnivore, which only the guess said, goes). A sure box beneath it is the more
specific finding and keeps its name (a Horse 85 under Mammal).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from catalog.domain.model import Instance, Label

GUESS_BELOW = 50.0  # a box under this is a guess (labels.description counts none of them)
WHOLE_FRAME = 0.8  # of the picture's area
# Boxes of two labels overlapping this much are one thing named twice. The detector's duplicates are the
# same box (IoU 1.0: one heatmap peak scored for two classes) or nearly (0.83: a Remote Control box on a
# Person); different things of different classes overlap less (a rider and the horse, a cup in a hand).
SAME_THING_IOU = 0.7


def name_detections(
    classified: Sequence[Label], detected: Sequence[Label], tentative: Sequence[Label] = ()
) -> tuple[Label, ...]:
    """The detector's labels, a lone detection that contradicts a surer classifier label renamed to it
    (box kept: its instance), whole-frame guesses nothing the classifier said bears out left out
    (frame_guess); the parent labels only the renamed or left-out detections had go.
    `classified`: the classifier's sure labels (its specific ones are the candidates); `tentative`: its
    unsure ones (they bear a guess out too)."""
    said = [*classified, *tentative]
    all_located = [lb for lb in detected if lb.instances]
    located = one_name_per_thing(all_located, said)
    renamed: dict[str, Label] = {}  # a detection's name → the classifier's label, with its box
    for label in _specific(classified):
        if any(_same_or_below(d, label) or _above(d, label) for d in located):
            continue  # the detector agrees: its Cup under the classifier's Espresso
        rivals = [d for d in located if d.name not in renamed and _contradict(d, label)]
        if len(rivals) == 1 and len(rivals[0].instances) == 1 and rivals[0].confidence < label.confidence:
            renamed[rivals[0].name] = dataclasses.replace(label, instances=rivals[0].instances)
    for guess in (d for d in located if d.name not in renamed and d.confidence < GUESS_BELOW):
        above = [c for c in _specific(classified) if _key(c.name) in _keys(guess.parents)]
        if above:  # the classifier is sure of what it is beneath, and of nothing more specific
            renamed[guess.name] = dataclasses.replace(above[0], instances=guess.instances)
    kept = [
        checked
        for lb in located
        if lb.name not in renamed and (checked := _without_frame_guesses(lb, said)) is not None
    ]
    if not renamed and kept == all_located:
        return tuple(detected)
    out = [*kept, *renamed.values()]
    for parent in (lb for lb in detected if not lb.instances):
        children = [lb.confidence for lb in kept if _key(parent.name) in _keys(lb.parents)]
        if children:
            out.append(dataclasses.replace(parent, confidence=max(children)))
    return tuple(out)


def one_name_per_thing(located: Sequence[Label], said: Sequence[Label]) -> list[Label]:
    """The located labels with each thing boxed once: of boxes of different labels overlapping by
    SAME_THING_IOU or more, the one whose label the classifier bears out best (_borne_out), else the
    surest, stays; a label left without boxes goes, one left with fewer takes its best box's confidence."""
    if len(located) < 2:
        return list(located)
    borne_out = [_borne_out(lb, said) for lb in located]
    ranked = sorted(
        ((i, k, box) for i, lb in enumerate(located) for k, box in enumerate(lb.instances)),
        key=lambda t: (-borne_out[t[0]], -t[2].confidence),
    )
    kept: list[tuple[int, Instance]] = []
    keep: set[tuple[int, int]] = set()
    for i, k, box in ranked:
        if all(j == i or box.box.iou(other.box) < SAME_THING_IOU for j, other in kept):
            kept.append((i, box))
            keep.add((i, k))
    out = []
    for i, lb in enumerate(located):
        boxes = tuple(box for k, box in enumerate(lb.instances) if (i, k) in keep)
        if len(boxes) == len(lb.instances):
            out.append(lb)
        elif boxes:
            out.append(dataclasses.replace(lb, confidence=max(b.confidence for b in boxes), instances=boxes))
    return out


def _borne_out(label: Label, said: Sequence[Label]) -> int:
    """How specifically the classifier bears the label out: 1 + the depth (number of parents) of the
    deepest word it said that is the label, one of its parents or beneath it; 0 if none."""
    return max((1 + len(c.parents) for c in said if _same_or_below(label, c) or _above(label, c)), default=0)


def is_guess(confidence: float) -> bool:
    """Whether a label at this confidence is a model's guess (a human-confirmed label is at 100: never)."""
    return confidence < GUESS_BELOW


def said(label: Label) -> str:
    """The label's name as people read it: a guess (under GUESS_BELOW) with a question mark, "Missile?"."""
    return f"{label.name}?" if is_guess(label.confidence) else label.name


def frame_guess(instance: Instance) -> bool:
    """A box of nearly the whole frame at under GUESS_BELOW: it locates nothing, and its class is a guess
    about the whole picture (Dog 36 on a painting of a night sky, Cake 30 on a chalk board, Bed 26 under a
    lion). Whether the picture shows that is for the classifier, which looks at the whole frame."""
    return instance.confidence < GUESS_BELOW and instance.box.width * instance.box.height >= WHOLE_FRAME


def _without_frame_guesses(label: Label, said: Sequence[Label]) -> Label | None:
    """The detection without its frame guesses, unless the classifier said something of its family."""
    if any(_related(label, c) for c in said):
        return label
    boxes = tuple(i for i in label.instances if not frame_guess(i))
    if len(boxes) == len(label.instances):
        return label
    return (
        dataclasses.replace(label, confidence=max(i.confidence for i in boxes), instances=boxes)
        if boxes
        else None
    )


def _specific(labels: Sequence[Label]) -> list[Label]:
    parents = {_key(p) for lb in labels for p in lb.parents}
    return sorted((lb for lb in labels if _key(lb.name) not in parents), key=lambda lb: -lb.confidence)


def _same_or_below(a: Label, b: Label) -> bool:
    return _key(a.name) == _key(b.name) or _key(b.name) in _keys(a.parents)


def _above(a: Label, b: Label) -> bool:
    return _key(a.name) in _keys(b.parents)


def _related(a: Label, b: Label) -> bool:
    return _same_or_below(a, b) or _above(a, b) or _contradict(a, b)


def _contradict(a: Label, b: Label) -> bool:
    """Of one family (a shared parent), and neither is the other nor beneath it."""
    return not (_same_or_below(a, b) or _above(a, b)) and bool(_keys(a.parents) & _keys(b.parents))


def _keys(names: Sequence[str]) -> set[str]:
    return {_key(n) for n in names}


def _key(name: str) -> str:
    return name.casefold()
