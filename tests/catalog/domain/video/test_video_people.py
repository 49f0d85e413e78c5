from __future__ import annotations

import numpy as np
import pytest

from catalog.domain.video.video_people import VideoPeople


def test_faces_within_the_same_person_distance_share_an_id() -> None:
    rng = np.random.default_rng(1)
    alice, bob = rng.normal(size=128), rng.normal(size=128)
    alice, bob = alice / np.linalg.norm(alice), bob / np.linalg.norm(bob)  # ~1.4 apart
    people = VideoPeople()
    ids = [people.assign(v) for v in (alice, bob, alice + 0.02, bob - 0.01, alice - 0.03)]
    assert ids == ["person-1", "person-2", "person-1", "person-2", "person-1"]
    assert people.count == 2


def test_bad_embeddings_are_refused() -> None:
    with pytest.raises(ValueError):
        VideoPeople().assign([])
