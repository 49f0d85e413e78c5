"""The S3 event notification parser and the bucket/prefix → tenant mapping (pure: no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from indexer.s3_events import TenantMapping
from indexer.s3_notifications import MalformedEventError, ObjectEvent, TestEvent, parse_message


def s3_record(key: str, *, name: str = "ObjectCreated:Put", bucket: str = "media", size: int = 1234) -> Any:
    """A record as S3 writes it (structure from the AWS notification-content-structure documentation)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-05-01T12:00:00.000Z",
        "eventName": name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "mediasight",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {"key": key, "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                       "sequencer": "0055AED6DCD90281E5"},
        },
    }  # fmt: skip


def test_an_object_created_record() -> None:
    events = parse_message(json.dumps({"Records": [s3_record("acme/cat.jpg")]}))
    assert events == (
        ObjectEvent(
            name="ObjectCreated:Put",
            bucket="media",
            key="acme/cat.jpg",
            size=1234,
            etag="d41d8cd98f00b204e9800998ecf8427e",
            sequencer="0055AED6DCD90281E5",
            time="2024-05-01T12:00:00.000Z",
        ),
    )
    assert isinstance(events, tuple)
    assert events[0].created


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("acme/red+flower.jpg", "acme/red flower.jpg"),  # S3 encodes a space as '+'
        ("acme/a%2Bb.jpg", "acme/a+b.jpg"),  # and a real '+' as %2B
        ("acme%2Fnested%2Fx.jpg", "acme/nested/x.jpg"),  # moto encodes '/' too
        ("acme/caf%C3%A9+%E2%80%93+%231.jpg", "acme/café – #1.jpg"),  # UTF-8, percent-encoded
        ("acme/year%3D2024/x.jpg", "acme/year=2024/x.jpg"),
    ],
)
def test_keys_are_url_decoded(encoded: str, key: str) -> None:
    events = parse_message(json.dumps({"Records": [s3_record(encoded)]}))
    assert isinstance(events, tuple)
    assert events[0].key == key


def test_several_records_and_other_event_kinds() -> None:
    body = {
        "Records": [
            s3_record("a.jpg", name="ObjectCreated:CompleteMultipartUpload"),
            s3_record("b.jpg", name="ObjectRemoved:Delete"),
            s3_record("c.jpg", name="s3:ObjectCreated:Copy"),  # tolerate the configuration-style name
        ]
    }
    events = parse_message(json.dumps(body))
    assert isinstance(events, tuple)
    assert [(e.key, e.created) for e in events] == [("a.jpg", True), ("b.jpg", False), ("c.jpg", True)]
    assert events[2].name == "ObjectCreated:Copy"


def test_a_record_without_size_or_sequencer() -> None:
    record = s3_record("x.jpg", name="ObjectRemoved:Delete")
    del record["s3"]["object"]["size"], record["s3"]["object"]["sequencer"], record["s3"]["object"]["eTag"]
    events = parse_message(json.dumps({"Records": [record]}))
    assert isinstance(events, tuple)
    assert (events[0].size, events[0].sequencer, events[0].etag) == (None, None, None)


def test_the_test_event() -> None:
    body = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2024-05-01T12:00:00.000Z",
        "Bucket": "media",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    assert parse_message(json.dumps(body)) == TestEvent("media")


def sns(message: Any) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:media-events",
            "Subject": "Amazon S3 Notification",
            "Message": json.dumps(message),
            "Timestamp": "2024-05-01T12:00:00.100Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
        }
    )


def test_an_sns_envelope_is_unwrapped() -> None:
    events = parse_message(sns({"Records": [s3_record("acme/red+flower.jpg")]}))
    assert isinstance(events, tuple)
    assert events[0].key == "acme/red flower.jpg"
    assert parse_message(sns({"Event": "s3:TestEvent", "Bucket": "media"})) == TestEvent("media")


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[1, 2]",
        '"a string"',
        "{}",
        '{"Records": []}',
        '{"Records": "x"}',
        '{"kind": "process", "tenant_id": "t", "asset_id": "a"}',  # one of our pipeline jobs
        json.dumps({"Records": [{"eventSource": "aws:sqs"}]}),
        json.dumps({"Records": [{**s3_record("x.jpg"), "s3": {"bucket": {"name": "b"}, "object": {}}}]}),
        json.dumps({"Records": [{**s3_record("x.jpg"), "s3": "nope"}]}),
        json.dumps({"Records": [s3_record("")]}),
        json.dumps({"Type": "Notification", "Message": "not json"}),
        # A detail-type EventBridge event is not an S3 notification as S3 sends it to SQS.
        json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {}}),
    ],
)
def test_anything_else_is_malformed(body: str) -> None:
    with pytest.raises(MalformedEventError):
        parse_message(body)


def test_a_mixed_message_is_malformed_as_a_whole() -> None:
    # Nothing is silently half-handled: the whole message goes to the dead-letter queue.
    with pytest.raises(MalformedEventError):
        parse_message(json.dumps({"Records": [s3_record("ok.jpg"), {"eventSource": "aws:s3"}]}))


def test_the_mapping_picks_the_longest_prefix() -> None:
    mapping = TenantMapping.parse(" media/acme/=acme, media/acme/private/=vault ,media=shared,uploads=beta ")
    assert mapping.tenant_for("media", "acme/cat.jpg") == "acme"
    assert mapping.tenant_for("media", "acme/private/x.jpg") == "vault"
    assert mapping.tenant_for("media", "other/x.jpg") == "shared"
    assert mapping.tenant_for("media", "acmecorp/x.jpg") == "shared"  # "acme/" is a folder, not "acme"
    assert mapping.tenant_for("uploads", "anything") == "beta"
    assert mapping.tenant_for("elsewhere", "acme/cat.jpg") is None
    assert mapping.tenants == {"acme", "vault", "shared", "beta"}


def test_prefixes_are_plain_string_prefixes_like_s3_filters() -> None:
    mapping = TenantMapping.parse("media/acme=acme")
    assert mapping.tenant_for("media", "acme/x.jpg") == "acme"
    assert mapping.tenant_for("media", "acme-2.jpg") == "acme"
    assert mapping.tenant_for("media", "x.jpg") is None


def test_a_prefix_may_contain_equals_signs() -> None:
    mapping = TenantMapping.parse("lake/year=2024/=archive")
    assert mapping.tenant_for("lake", "year=2024/x.jpg") == "archive"
    assert mapping.tenant_for("lake", "year=2023/x.jpg") is None


def test_an_empty_mapping_maps_nothing() -> None:
    assert TenantMapping.parse("").routes == ()
    assert TenantMapping.parse(" , ").tenant_for("media", "x.jpg") is None


@pytest.mark.parametrize("spec", ["media", "=acme", "media=", "/prefix=acme", "media=a,media=b"])
def test_a_bad_mapping_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="mapping"):
        TenantMapping.parse(spec)
