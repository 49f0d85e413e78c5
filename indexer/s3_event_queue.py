"""The SQS side of the S3 event consumer (indexer.s3_events): receive, keep a message hidden while it is
handled, show it again later, delete it, dead-letter it. Each call takes the entered aiobotocore SQS
client and the queue's URL; none raises for a message that is no longer ours (it comes back, harmlessly).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("indexer.s3_events")  # one logger for the whole consumer

MAX_BATCH = 10  # ReceiveMessage returns at most 10 messages per call
MAX_ERROR_CHARS = 4096
_NOT_OWNED = {"ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


async def receive(sqs: Any, queue_url: str, *, wait: int, visibility: int) -> list[dict[str, Any]]:
    response = await sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=MAX_BATCH,
        WaitTimeSeconds=wait,
        VisibilityTimeout=visibility,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    return list(response.get("Messages", []))


async def keep_hidden(sqs: Any, queue_url: str, receipt: str, message_id: str, visibility: int) -> None:
    """Extend the message's visibility while it is handled (a large object can take a while)."""
    while True:
        await asyncio.sleep(visibility / 3)
        try:
            await sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=visibility
            )
        except Exception as exc:  # a task nobody awaits must not end with an exception
            log.warning("could not extend S3 event message %s: %r", message_id, exc)
            return


async def retry_later(
    sqs: Any, queue_url: str, message: dict[str, Any], *, visibility: int, retry_base: int
) -> None:
    """Show the message again after a backoff that grows with its receive count (SQS's redrive policy,
    if the queue has one, dead-letters it after maxReceiveCount)."""
    receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
    delay = min(visibility, retry_base * 2 ** min(receives - 1, 16))
    try:
        await sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
        )
    except (ClientError, KeyError):
        log.debug("could not shorten the visibility of %s", message.get("MessageId"), exc_info=True)


async def delete(sqs: Any, queue_url: str, receipt: str) -> None:
    try:
        await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
    except ClientError as exc:
        # A handle whose visibility ran out: the message comes back, and is handled again harmlessly.
        if error_code(exc) not in _NOT_OWNED:
            log.warning("could not delete S3 event message: %s", error_code(exc))


async def reject(
    sqs: Any, queue_url: str, dead_letter_url: str | None, message: dict[str, Any], reason: str
) -> None:
    """Dead-letter (or drop, with a log line) a message that is not an S3 notification."""
    message_id = str(message.get("MessageId", "?"))
    body = str(message.get("Body", "")) or "(empty)"
    try:
        if dead_letter_url is None:
            log.error("not an S3 event, dropped: message %s (%s): %.500s", message_id, reason, body)
        else:
            log.warning("not an S3 event, dead-lettered: message %s (%s)", message_id, reason)
            await sqs.send_message(
                QueueUrl=dead_letter_url,
                MessageBody=body,
                MessageAttributes={
                    "error": {"DataType": "String", "StringValue": reason[:MAX_ERROR_CHARS] or "?"},
                    "source_message_id": {"DataType": "String", "StringValue": message_id},
                },
            )
        await delete(sqs, queue_url, str(message["ReceiptHandle"]))
    except (ClientError, KeyError):
        # It comes back after the visibility timeout; the queue's redrive policy is the backstop.
        log.exception("could not dead-letter S3 event message %s", message_id)
