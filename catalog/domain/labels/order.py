"""One label per concept, ordered so the specific thing comes first (pure functions).

The classifier and the object detector name the same concept with the same label ("Dog", parents
Canine … Animal): merged, it keeps the higher confidence, the detector's boxes and every parent either
knew. Ordering is by confidence, except that a label never comes before a label beneath it: parents
collect the confidence of everything under them (Animal 95 on any animal photo), so a plain sort would
put the vaguest labels first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

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


def specific_first(labels: Sequence[Label], guesses: Collection[str] = ()) -> list[Label]:
    """Most confident first, except that a label waits until every present label beneath it is placed.

    A parent's confidence is at least its children's when it is their summed probability: this puts
    "Dog 88" before "Canine 91" and "Animal 97", while an unrelated "Person 95" keeps its place ahead of
    them. Ties: the more specific (more parents), then the name.

    `guesses` (names): the object detector's guesses, weak boxes nothing else found (metadata.
    detector_guesses). A guess is about a spot; a parent's confidence, about what the whole picture shows.
    So a guess does not come before a label whose branch (the label, or a parent of it still waiting) is
    surer than the guess: the classifier's tentative "Palace 34" under "Building 48" comes before the
    detector's "Bird 38" on the boats of the lake below the palace.
    """
    guessed = {g.casefold() for g in guesses}
    remaining = sorted(labels, key=lambda lb: (-lb.confidence, -len(lb.parents), lb.name))
    out: list[Label] = []
    while remaining:
        # parents named anywhere among what is left: those labels must wait
        waiting = {p.casefold() for lb in remaining for p in lb.parents if p.casefold() != lb.name.casefold()}
        # the best label nothing left is beneath; a (malformed) cycle of parents takes the best one as is
        free = [lb for lb in remaining if lb.name.casefold() not in waiting] or remaining[:1]
        pick = free[0]
        if pick.name.casefold() in guessed:
            pick = next(
                (
                    lb
                    for lb in free
                    if lb.name.casefold() not in guessed and _branch(lb, remaining) > pick.confidence
                ),
                pick,
            )
        out.append(pick)
        remaining.remove(pick)
    return out


def _branch(label: Label, remaining: Sequence[Label]) -> float:
    """The label's confidence, or a surer one of its parents among `remaining` (waiting for it)."""
    parents = {p.casefold() for p in label.parents}
    return max([label.confidence, *(lb.confidence for lb in remaining if lb.name.casefold() in parents)])


def specific_labels(labels: Sequence[Label]) -> list[Label]:
    """The labels no other present label has as a parent (Dog, not Mammal), in the given order."""
    parents = {p.casefold() for lb in labels for p in lb.parents if p.casefold() != lb.name.casefold()}
    return [lb for lb in labels if lb.name.casefold() not in parents]


def sure_or_best(labels: Sequence[Label], bar: float) -> list[Label]:
    """The labels at least `bar` confident; for an asset none is, its first specific label alone (what
    it most likely shows, said at its low confidence), so no asset with labels says nothing. `labels` in
    their order (specific_first)."""
    sure = [lb for lb in labels if lb.confidence >= bar]
    if sure or not labels:
        return sure
    return [(specific_labels(labels) or labels)[0]]


TOP_LABELS_BAR = 50.0  # the confidence a top label needs, unless no label of the asset reaches it


def top_labels(labels: Sequence[Label], first: int, min_confidence: float | None = None) -> list[Label]:
    """What the asset shows, in a few words: its first specific labels (none a parent of another label
    here) of those at least `min_confidence` sure; by default those at TOP_LABELS_BAR or, for an asset no
    label reaches it on, its best specific label (sure_or_best). The API's topLabels, the CLI's columns."""
    if min_confidence is None:
        shown = sure_or_best(labels, TOP_LABELS_BAR)
    else:
        shown = [lb for lb in labels if lb.confidence >= min_confidence]
    return specific_labels(shown)[: max(0, first)]
