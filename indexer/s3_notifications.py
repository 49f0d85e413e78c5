"""The S3 event notification format: what an SQS message from a bucket holds (a raw S3 event, or one
wrapped in an SNS envelope), parsed into ObjectEvent records or S3's TestEvent.

Anything else raises MalformedEventError; the consumer (indexer.s3_events) dead-letters or drops it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class MalformedEventError(ValueError):
    """The message is not an S3 event notification we understand."""


@dataclass(frozen=True)
class ObjectEvent:
    """One record of an S3 event notification; `key` is decoded (S3 sends it URL-encoded)."""

    name: str  # e.g. "ObjectCreated:Put", "ObjectRemoved:Delete"
    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    sequencer: str | None = None
    time: str | None = None

    @property
    def created(self) -> bool:
        return self.name.startswith("ObjectCreated:")


@dataclass(frozen=True)
class TestEvent:
    """S3's `s3:TestEvent`, sent when a bucket's notification configuration is saved."""

    __test__ = False  # not a pytest test class
    bucket: str


def parse_message(body: str) -> TestEvent | tuple[ObjectEvent, ...]:
    """The S3 notification in an SQS message body (raw, or wrapped in an SNS envelope)."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"body is not JSON: {exc}") from exc
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        try:  # delivered through SNS without raw message delivery: the S3 event is a string inside
            doc = json.loads(doc["Message"])
        except ValueError as exc:
            raise MalformedEventError(f"SNS message is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedEventError("body is not a JSON object")
    if doc.get("Event") == "s3:TestEvent":
        return TestEvent(str(doc.get("Bucket", "")))
    records = doc.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedEventError("not an S3 event notification (no Records)")
    return tuple(_record(record) for record in records)


def _record(record: Any) -> ObjectEvent:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise MalformedEventError("a record is not an aws:s3 event")
    s3 = record.get("s3")
    name = record.get("eventName")
    bucket = s3.get("bucket", {}).get("name") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    if not (isinstance(name, str) and isinstance(bucket, str) and bucket and isinstance(key, str) and key):
        raise MalformedEventError("a record lacks eventName, s3.bucket.name or s3.object.key")
    assert isinstance(obj, dict)
    size = obj.get("size")
    return ObjectEvent(
        name=name.removeprefix("s3:"),
        bucket=bucket,
        key=unquote_plus(key),  # S3 encodes keys like a form: "red flower.jpg" arrives as "red+flower.jpg"
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        etag=_text(obj.get("eTag")),
        sequencer=_text(obj.get("sequencer")),
        time=_text(record.get("eventTime")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
