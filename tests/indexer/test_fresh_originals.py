"""The in-memory handoff of just-stored originals: bounded, each taken once, off without a worker."""

from __future__ import annotations

import asyncio
import time

from indexer.fresh_originals import BEHIND, FreshOriginals


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


async def test_ingest_waits_for_room_instead_of_pushing_out_what_the_worker_takes_next() -> None:
    fresh = FreshOriginals(max_bytes=8)
    fresh.enabled = True
    for key in "ab":
        async with fresh.room(4):
            fresh.keep(key, b"1234")
    entered = asyncio.Event()

    async def third() -> None:
        async with fresh.room(4):
            entered.set()
            fresh.keep("c", b"1234")

    waiting = asyncio.create_task(third())
    await asyncio.sleep(0.05)
    assert not entered.is_set()  # full: it waits
    assert fresh.take("a") == b"1234"
    await waiting
    assert [fresh.take(k) for k in "bc"] == [b"1234", b"1234"]  # nothing was pushed out


async def test_a_wait_for_room_gives_up_without_takes_and_waits_no_more_until_one() -> None:
    fresh = FreshOriginals(max_bytes=4, patience=0.05)
    fresh.enabled = True
    fresh.keep("a", b"1234")
    started = time.monotonic()
    async with fresh.room(4):  # the worker is on long jobs: after the patience, as an upload does
        fresh.keep("b", b"1234")
    assert time.monotonic() - started >= 0.05
    started = time.monotonic()
    async with fresh.room(4):
        fresh.keep("c", b"1234")
    assert time.monotonic() - started < 0.05  # stalled: no second wait
    assert [fresh.take(k) for k in "abc"] == [None, None, b"1234"]


async def test_room_never_waits_when_no_worker_takes() -> None:
    fresh = FreshOriginals(max_bytes=4, patience=5)
    fresh.keep("a", b"1234")
    async with asyncio.timeout(1), fresh.room(4):
        fresh.keep("b", b"1234")


def test_what_another_process_claimed_is_dropped_once_later_ones_are_taken() -> None:
    fresh = FreshOriginals()
    fresh.enabled = True
    for i in range(BEHIND + 3):
        fresh.keep(str(i), b"x")
    assert fresh.take(str(BEHIND + 1)) == b"x"  # jobs are claimed oldest first: 0 went elsewhere
    assert [fresh.take(k) for k in ("0", "1", str(BEHIND + 2))] == [None, b"x", b"x"]


async def test_room_promised_to_an_ingest_that_keeps_nothing_is_free_again_at_once() -> None:
    fresh = FreshOriginals(max_bytes=8, patience=5)
    fresh.enabled = True
    first = asyncio.Event()
    done = asyncio.Event()

    async def duplicate() -> None:  # promised room, then found the asset already there: keeps nothing
        async with fresh.room(8):
            first.set()
            await done.wait()

    held = asyncio.create_task(duplicate())
    await first.wait()
    second = asyncio.create_task(asyncio.wait_for(_enter(fresh, 8), 1))
    await asyncio.sleep(0.05)
    assert not second.done()  # the room is promised
    done.set()
    await held
    await second  # woken when the promise ended, not after the patience


async def test_an_original_over_the_bound_promises_no_room() -> None:
    fresh = FreshOriginals(max_bytes=8, patience=5)
    fresh.enabled = True
    async with asyncio.timeout(1), fresh.room(100):  # not waited for: it will not be kept
        await _enter(fresh, 8)  # nor does it hold room from another


async def _enter(fresh: FreshOriginals, size: int) -> None:
    async with fresh.room(size):
        pass
