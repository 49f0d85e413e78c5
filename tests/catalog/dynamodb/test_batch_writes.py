"""BatchWriteItem in requests of 25, several in flight at once; whatever DynamoDB leaves unprocessed is sent
again (with backoff) until it is written, or the write fails loudly. DynamoDB Local never leaves items
unprocessed, so a stand-in for the client's one method answers here, the way the service documents it
(UnprocessedItems: the requests it did not apply, in the request's own shape)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from catalog.dynamodb import requests
from catalog.dynamodb.requests import ATTEMPTS, BATCH_WRITE_MAX, CONCURRENCY, batch_delete, batch_put


class ThrottledTable:
    """Applies each request after a moment; the first time it sees an item named in `refuse`, it leaves it
    unprocessed (`refuse_always`: every time). Counts the requests in flight."""

    def __init__(
        self, refuse: frozenset[str] = frozenset(), refuse_always: frozenset[str] = frozenset()
    ) -> None:
        self.refuse, self.refuse_always = set(refuse), set(refuse_always)
        self.applied: list[str] = []
        self.requests = 0
        self.in_flight = self.most_in_flight = 0

    async def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, writes),) = RequestItems.items()
        assert len(writes) <= BATCH_WRITE_MAX
        self.requests += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1
        left = []
        for w in writes:
            name = _name(w)
            if name in self.refuse_always or name in self.refuse:
                self.refuse.discard(name)
                left.append(w)
            else:
                self.applied.append(name)
        return {"UnprocessedItems": {table: left}} if left else {"UnprocessedItems": {}}


def _name(write: dict[str, Any]) -> str:
    item = write["PutRequest"]["Item"] if "PutRequest" in write else write["DeleteRequest"]["Key"]
    return str(item["SK"]["S"])


def items(n: int) -> list[dict[str, Any]]:
    return [{"PK": {"S": "TENANT#t"}, "SK": {"S": f"item-{i:05d}"}} for i in range(n)]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    taken: list[int] = []

    async def backoff(attempt: int) -> None:
        taken.append(attempt)

    monkeypatch.setattr(requests, "backoff", backoff)
    return taken


async def test_many_writes_go_out_in_parallel_requests_and_unprocessed_ones_are_sent_again(
    no_waiting: list[int],
) -> None:
    rows = items(2_000)
    table = ThrottledTable(refuse=frozenset({"item-00000", "item-00999", "item-01999"}))
    await batch_put(table, "t", rows)
    assert sorted(table.applied) == [r["SK"]["S"] for r in rows]  # each exactly once, none lost
    assert table.requests == 2_000 // BATCH_WRITE_MAX + 3  # the three refused items: one retry each
    assert no_waiting == [0, 0, 0]
    assert 1 < table.most_in_flight <= CONCURRENCY

    gone = ThrottledTable(refuse=frozenset({"item-00007"}))
    await batch_delete(gone, "t", items(30))
    assert sorted(gone.applied) == [f"item-{i:05d}" for i in range(30)]


async def test_items_left_unprocessed_after_every_retry_fail_the_write(no_waiting: list[int]) -> None:
    table = ThrottledTable(refuse_always=frozenset({"item-00003"}))
    with pytest.raises(RuntimeError, match="left items unprocessed"):
        await batch_put(table, "t", items(10))
    assert no_waiting == list(range(ATTEMPTS * 2))
    assert "item-00003" not in table.applied
