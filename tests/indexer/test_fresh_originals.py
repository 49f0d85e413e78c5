"""The in-memory handoff of just-stored originals: bounded, each taken once, off without a worker."""

from __future__ import annotations

from indexer.fresh_originals import FreshOriginals


def test_nothing_is_held_until_a_worker_would_take_it() -> None:
    fresh = FreshOriginals()
    fresh.keep("originals/t/a", b"abc")
    assert fresh.take("originals/t/a") is None


def test_each_original_is_taken_once() -> None:
    fresh = FreshOriginals()
    fresh.enabled = True
    fresh.keep("originals/t/a", b"abc")
    assert fresh.take("originals/t/a") == b"abc"
    assert fresh.take("originals/t/a") is None


def test_the_oldest_go_first_when_over_the_bound() -> None:
    fresh = FreshOriginals(max_bytes=10)
    fresh.enabled = True
    for key in "abc":
        fresh.keep(key, b"1234")
    fresh.keep("huge", b"x" * 11)  # larger than the bound: never held
    assert [fresh.take(k) for k in ("a", "b", "c", "huge")] == [None, b"1234", b"1234", None]
    fresh.keep("d", b"1234567890")  # the room taken ones left is free again
    assert fresh.take("d") == b"1234567890"
