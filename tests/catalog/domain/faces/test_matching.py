"""Person links when an asset's faces are replaced: they follow the face's box
(catalog.domain.faces.matching)."""

from __future__ import annotations

from catalog.domain.faces.matching import carried_persons, replaced_face_ids
from catalog.domain.model import BoundingBox

LEFT, MIDDLE, RIGHT = (BoundingBox(0.05 + 0.3 * i, 0.1, 0.2, 0.3) for i in range(3))


def moved(box: BoundingBox, dx: float) -> BoundingBox:
    return BoundingBox(box.left + dx, box.top, box.width, box.height)


def test_a_person_follows_its_face_to_a_new_place_in_the_list() -> None:
    old = [(LEFT, "ada"), (MIDDLE, None), (RIGHT, "grace")]
    # re-analysed: the middle face is gone, the right one comes first, every box moved a little
    assert carried_persons(old, [moved(RIGHT, 0.02), moved(LEFT, -0.01)]) == ["grace", "ada"]
    # the same faces, in the same order: nothing moves
    assert carried_persons(old, [LEFT, MIDDLE, RIGHT]) == ["ada", None, "grace"]


def test_a_person_whose_face_has_no_match_is_dropped() -> None:
    old = [(LEFT, "ada"), (RIGHT, "grace")]
    elsewhere = BoundingBox(0.3, 0.6, 0.2, 0.3)
    assert carried_persons(old, [elsewhere]) == [None]
    assert carried_persons(old, []) == []
    # IoU just under 0.5 is another face: a box shifted by a third of its width overlaps by exactly 0.5
    assert carried_persons(old, [moved(LEFT, 0.2 / 3 - 0.001)]) == ["ada"]
    assert carried_persons(old, [moved(LEFT, 0.2 / 3 + 0.001)]) == [None]


def test_pairs_are_one_to_one_best_overlap_first() -> None:
    """Two new faces on one old one: the better overlap gets the person, the other none."""
    old = [(LEFT, "ada")]
    assert carried_persons(old, [moved(LEFT, 0.05), moved(LEFT, 0.01)]) == [None, "ada"]
    # an unnamed old face still takes its match: the named neighbour's person does not spill over
    old = [(LEFT, None), (moved(LEFT, 0.04), "ada")]
    assert carried_persons(old, [moved(LEFT, 0.001)]) == [None]


def test_faces_stored_before_boxes_were_keep_their_place() -> None:
    old: list[tuple[BoundingBox | None, str | None]] = [(None, "ada"), (None, "grace")]
    assert carried_persons(old, [RIGHT]) == ["ada"]
    assert carried_persons(old, [RIGHT, LEFT, MIDDLE]) == ["ada", "grace", None]


def test_replaced_face_ids_are_those_the_new_faces_do_not_have() -> None:
    assert replaced_face_ids(["f1", "", "f2", "f1"], ["f2", ""]) == ["f1"]
    assert replaced_face_ids([], ["f1"]) == []
