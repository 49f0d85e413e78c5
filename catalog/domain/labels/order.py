"""One label per concept, ordered so the specific thing comes first (pure functions).

The classifier and the object detector name the same concept with the same label ("Dog", parents
Canine … Animal): merged, it keeps the higher confidence, the detector's boxes and every parent either
knew. Ordering is by confidence, except that a label never comes before a label beneath it: parents
collect the confidence of everything under them (Animal 95 on any animal photo), so a plain sort would
put the vaguest labels first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from catalog.domain.model import Instance, Label


def merge_labels(groups: Iterable[Sequence[Label]]) -> list[Label]:
    """Labels of several analyzers, one per name (case-insensitive; the first spelling wins)."""
    merged: dict[str, Label] = {}
    for labels in groups:
        for lb in labels:
            key = lb.name.casefold()
            seen = merged.get(key)
            if seen is None:
                merged[key] = lb
                continue
            parents = tuple(dict.fromkeys((*seen.parents, *lb.parents)))
            instances = _merge_instances(seen.instances, lb.instances)
            merged[key] = Label(seen.name, max(seen.confidence, lb.confidence), parents, instances)
    return list(merged.values())


def _merge_instances(a: tuple[Instance, ...], b: tuple[Instance, ...]) -> tuple[Instance, ...]:
    if not a or not b:
        return a or b
    return tuple(sorted({*a, *b}, key=lambda i: -i.confidence))


def specific_first(labels: Sequence[Label]) -> list[Label]:
    """Most confident first, except that a label waits until every present label beneath it is placed.

    A parent's confidence is at least its children's when it is their summed probability: this puts
    "Dog 88" before "Canine 91" and "Animal 97", while an unrelated "Person 95" keeps its place ahead of
    them. Ties: the more specific (more parents), then the name.
    """
    remaining = sorted(labels, key=lambda lb: (-lb.confidence, -len(lb.parents), lb.name))
    out: list[Label] = []
    while remaining:
        # parents named anywhere among what is left: those labels must wait
        waiting = {p.casefold() for lb in remaining for p in lb.parents if p.casefold() != lb.name.casefold()}
        # the best label nothing left is beneath; a (malformed) cycle of parents takes the best one as is
        pick = next((i for i, lb in enumerate(remaining) if lb.name.casefold() not in waiting), 0)
        out.append(remaining.pop(pick))
    return out


def specific_labels(labels: Sequence[Label]) -> list[Label]:
    """The labels no other present label has as a parent (Dog, not Mammal), in the given order."""
    parents = {p.casefold() for lb in labels for p in lb.parents if p.casefold() != lb.name.casefold()}
    return [lb for lb in labels if lb.name.casefold() not in parents]


def sure_or_best(labels: Sequence[Label], bar: float) -> list[Label]:
    """The labels at least `bar` confident; for an asset none is, its most confident specific label alone
    (what it most likely shows, said at its low confidence), so no asset with labels says nothing."""
    sure = [lb for lb in labels if lb.confidence >= bar]
    if sure or not labels:
        return sure
    return [max(specific_labels(labels) or labels, key=lambda lb: lb.confidence)]
