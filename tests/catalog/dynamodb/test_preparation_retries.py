"""A batch's preparation writes its meta item, which every finishing item's transaction also writes: real
DynamoDB answers the loser of such a race TransactionConflictException (a plain update) or cancels the
transaction with a TransactionConflict reason. botocore does not retry them (bootstrap turns its retries
off), so the adapter does, with jittered backoff. DynamoDB Local never conflicts: a real aiobotocore client
in AioStubber (validated against the DynamoDB service model) answers instead; nothing leaves the process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aioboto3
import pytest
from aiobotocore.stub import AioStubber
from botocore.exceptions import ClientError

from catalog.domain.run_ports import Claim
from catalog.dynamodb import preparations as dynamodb_preparations
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.dynamodb.requests import ATTEMPTS

CLAIM = Claim("owner-1", timedelta(minutes=5))
Write = Callable[[DynamoCatalog], Awaitable[bool]]
WRITES: dict[str, Write] = {
    "checkpoint": lambda c: c.checkpoint_batch("t", "b", "asset-9", CLAIM),
    "heartbeat": lambda c: c.checkpoint_batch("t", "b", None),
    "claim": lambda c: c.claim_batch("t", "b", CLAIM),
}


@pytest.fixture
async def stubbed(aws_env: None) -> AsyncIterator[tuple[DynamoCatalog, AioStubber]]:
    """The catalog over a real client whose every answer is stubbed (and must be used)."""
    async with aioboto3.Session().client("dynamodb", region_name="us-east-1") as client:
        with AioStubber(client) as stubber:
            yield DynamoCatalog(client, "table"), stubber
            stubber.assert_no_pending_responses()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The backoffs taken (by attempt), without waiting."""
    taken: list[int] = []

    async def backoff(attempt: int) -> None:
        taken.append(attempt)

    monkeypatch.setattr(dynamodb_preparations, "backoff", backoff)
    return taken


def conflict(stubber: AioStubber, times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error(
            "update_item", "TransactionConflictException", "Transaction is ongoing for the item", 400
        )


@pytest.mark.parametrize("write", list(WRITES))
async def test_an_update_that_meets_a_transaction_is_retried(
    stubbed: tuple[DynamoCatalog, AioStubber], waits: list[int], write: str
) -> None:
    catalog, stubber = stubbed
    conflict(stubber)
    stubber.add_response("update_item", {})
    assert await WRITES[write](catalog)
    assert waits == [0]


async def test_a_failed_condition_is_an_answer_not_retried(
    stubbed: tuple[DynamoCatalog, AioStubber], waits: list[int]
) -> None:
    catalog, stubber = stubbed
    conflict(stubber)
    stubber.add_client_error(
        "update_item", "ConditionalCheckFailedException", "The conditional request failed"
    )
    assert not await WRITES["checkpoint"](catalog)  # the claim is gone
    assert waits == [0]


async def test_conflicts_without_end_are_raised(
    stubbed: tuple[DynamoCatalog, AioStubber], waits: list[int]
) -> None:
    catalog, stubber = stubbed
    conflict(stubber, ATTEMPTS)
    with pytest.raises(ClientError, match="TransactionConflict"):
        await WRITES["checkpoint"](catalog)
    assert waits == list(range(ATTEMPTS - 1))


async def test_adding_items_retries_a_transaction_cancelled_by_a_conflict(
    stubbed: tuple[DynamoCatalog, AioStubber],
) -> None:
    catalog, stubber = stubbed
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        "Transaction cancelled",
        400,
        modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
    )
    stubber.add_response("transact_write_items", {})
    assert await catalog.add_batch_items("t", "b", ["asset-1"], CLAIM)
