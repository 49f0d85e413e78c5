from __future__ import annotations

import numpy as np
import pytest

from catalog.domain.model import BoundingBox, Face
from catalog.domain.video.video_people import VideoPeople, face_index, person_id


def face(vector: np.ndarray, size: float = 0.2, confidence: float = 99.0) -> Face:
    return Face(BoundingBox(0.1, 0.1, size, size), confidence, embedding=tuple(float(x) for x in vector))


def test_faces_within_the_same_person_distance_share_an_id() -> None:
    rng = np.random.default_rng(1)
    alice, bob = rng.normal(size=128), rng.normal(size=128)
    alice, bob = alice / np.linalg.norm(alice), bob / np.linalg.norm(bob)  # ~1.4 apart
    people = VideoPeople()
    seen = (alice, bob, alice + 0.02, bob - 0.01, alice - 0.03)
    ids = [people.assign(face(v), t) for t, v in enumerate(seen)]
    assert ids == ["person-1", "person-2", "person-1", "person-2", "person-1"]
    assert people.count == 2


def test_each_person_keeps_the_face_seen_largest_with_its_time() -> None:
    rng = np.random.default_rng(2)
    alice, bob = rng.normal(size=128), rng.normal(size=128)
    alice, bob = alice / np.linalg.norm(alice), bob / np.linalg.norm(bob)
    people = VideoPeople()
    people.assign(face(alice, 0.1), 0.4)
    people.assign(face(bob, 0.3), 1.0)
    people.assign(face(alice + 0.01, 0.25), 2.5)  # larger: alice's representative from now on
    people.assign(face(alice - 0.01, 0.25, confidence=50.0), 3.0)  # as large, less sure: not taken
    people.assign(face(bob + 0.01, 0.2), 4.0)
    best = people.faces()
    assert [f.time for f in best] == [2.5, 1.0]
    assert best[0].embedding == tuple(float(x) for x in alice + 0.01)
    assert best[0].box.width == 0.25 and best[1].box.width == 0.3


def test_person_ids_map_to_face_indexes_and_back() -> None:
    assert [person_id(i) for i in range(3)] == ["person-1", "person-2", "person-3"]
    assert [face_index(p) for p in ("person-1", "person-12")] == [0, 11]
    assert [face_index(p) for p in ("person-0", "person-", "Grace", "person-x", "1")] == [None] * 5


def test_bad_embeddings_are_refused() -> None:
    with pytest.raises(ValueError):
        VideoPeople().assign(face(np.array([])), 0.0)
