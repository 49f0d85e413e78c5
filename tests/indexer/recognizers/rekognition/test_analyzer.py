"""Rekognition analyzers against a real aiobotocore client wrapped in AioStubber.

The stubber validates every canned response against the Rekognition service model and checks the request
parameters we send (expected_params); botocore validates the request itself. No request leaves the
process: credentials and region are fake, the user's AWS config files are hidden, and an unstubbed call
raises instead of going to the network. Time (sleep, random, clock) is injected: nothing waits.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioboto3
import numpy as np
import pytest
from aiobotocore.stub import AioStubber
from botocore.exceptions import ClientError
from botocore.stub import ANY
from PIL import Image

from catalog.domain.model import BoundingBox, Findings, Instance, TextDetection
from indexer.recognizers.ports import AnalysisInput, AnalyzerInputError
from indexer.recognizers.rekognition.analyzer import RekognitionAnalyzer, rekognition_factories
from indexer.recognizers.rekognition.calls import make_buckets
from indexer.recognizers.rekognition.images import (
    BYTES_MAX,
    MAX_SIDE,
    MIN_SIDE,
    OriginalInfo,
    prepare_bytes,
)
from indexer.recognizers.rekognition.mapping import quality_blend, to_box, unpad
from indexer.recognizers.rekognition.rate_limit import TokenBucket, call_with_retries, is_retryable

BUCKET = "mediasight-originals"
KEY = "originals/t1/ab/abcdef"


# ---- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
async def client(aws_env: None) -> AsyncIterator[Any]:
    session = aioboto3.Session()
    async with session.client("rekognition", region_name="us-east-1") as c:
        yield c


@pytest.fixture
def stubber(client: Any) -> Iterator[AioStubber]:
    with AioStubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def free_bucket() -> TokenBucket:
    return TokenBucket(1000.0, burst=1000)


def analyzer(name: str, client: Any, **kw: Any) -> RekognitionAnalyzer:
    kw.setdefault("s3_bucket", None)
    kw.setdefault("buckets", free_bucket())
    kw.setdefault("sleep", Sleeps())
    return RekognitionAnalyzer(name, client, **kw)


def make_input(size: tuple[int, int] = (640, 480), *, noise: bool = False) -> AnalysisInput:
    if noise:
        rng = np.random.default_rng(7)
        image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    else:
        image = Image.new("RGB", size, (40, 120, 200))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return AnalysisInput(image=image, jpeg=buf.getvalue(), original_key=KEY)


ITEM = make_input()
BYTES = {"Bytes": ITEM.jpeg}


def box(left: float, top: float, width: float, height: float) -> dict[str, float]:
    return {"Left": left, "Top": top, "Width": width, "Height": height}


# ---- labels -------------------------------------------------------------------------------------------

LABELS_RESPONSE: dict[str, Any] = {
    "Labels": [
        {
            "Name": "Dog",
            "Confidence": 97.5,
            "Instances": [{"BoundingBox": box(0.1, 0.2, 0.3, 0.4), "Confidence": 97.5}],
            "Parents": [{"Name": "Pet"}, {"Name": "Mammal"}, {"Name": "Animal"}],
            "Aliases": [{"Name": "Canine"}],
            "Categories": [{"Name": "Animals and Pets"}],
        },
        {
            "Name": "Animal",
            "Confidence": 99.1,
            "Instances": [],
            "Parents": [],
            "Aliases": [],
            "Categories": [],
        },
        {"Name": "Grass", "Confidence": 61.0, "Instances": [], "Parents": [{"Name": "Plant"}]},
    ],
    "LabelModelVersion": "3.0",
}


async def test_labels_map_parents_sorted_and_record_the_model_version(
    client: Any, stubber: AioStubber
) -> None:
    labels = analyzer("labels", client)
    assert (labels.provider, labels.model_name, labels.model_version) == (
        "rekognition",
        "amazon-rekognition-detect-labels",
        "unknown",
    )
    stubber.add_response(
        "detect_labels",
        LABELS_RESPONSE,
        {"Image": BYTES, "Features": ["GENERAL_LABELS"], "MinConfidence": 50.0, "MaxLabels": 20},
    )
    findings = await labels.analyze(ITEM, {})
    assert [(lb.name, lb.confidence, lb.parents) for lb in findings.labels] == [
        ("Animal", 99.1, ()),
        ("Dog", 97.5, ("Pet", "Mammal", "Animal")),
        ("Grass", 61.0, ("Plant",)),
    ]
    assert findings == Findings(labels=findings.labels)  # only its own field
    assert labels.model_version == "3.0"


async def test_label_instances_map_to_boxes_and_objects_keeps_located_labels(
    client: Any, stubber: AioStubber
) -> None:
    stubber.add_response(
        "detect_labels",
        LABELS_RESPONSE,
        {"Image": BYTES, "Features": ["GENERAL_LABELS"], "MinConfidence": 50.0, "MaxLabels": 20},
    )
    dog = next(lb for lb in (await analyzer("labels", client).analyze(ITEM, {})).labels if lb.name == "Dog")
    assert dog.instances == (Instance(BoundingBox(0.1, 0.2, 0.3, 0.4), 97.5),)

    objects = analyzer("objects", client)
    stubber.add_response(
        "detect_labels", LABELS_RESPONSE, {"Image": BYTES, "Features": ["GENERAL_LABELS"], "MaxLabels": 1000}
    )
    found = (await objects.analyze(ITEM, {})).labels
    # the located label, and its parents as labels without boxes (Animal's own confidence where given)
    assert [(lb.name, lb.confidence, len(lb.instances)) for lb in found] == [
        ("Animal", 99.1, 0),
        ("Dog", 97.5, 1),
        ("Mammal", 97.5, 0),
        ("Pet", 97.5, 0),
    ]
    stubber.add_response("detect_labels", LABELS_RESPONSE, None)
    assert (await objects.analyze(ITEM, {"min_confidence": 98})).labels == ()


async def test_labels_parameters_and_settings_filters(client: Any, stubber: AioStubber) -> None:
    labels = analyzer("labels", client)
    stubber.add_response(
        "detect_labels",
        {**LABELS_RESPONSE, "LabelModelVersion": "3.1"},
        {
            "Image": BYTES,
            "Features": ["GENERAL_LABELS"],
            "MinConfidence": 90.0,
            "MaxLabels": 1,
            "Settings": {
                "GeneralLabels": {
                    "LabelExclusionFilters": ["Grass"],
                    "LabelCategoryInclusionFilters": ["Animals and Pets", "Nature"],
                }
            },
        },
    )
    params = {
        "min_confidence": 90,
        "max_labels": 1,
        "exclude_labels": "Grass",
        "include_categories": "Animals and Pets, Nature",
    }
    findings, version = await labels.analyze_with_version(ITEM, params)
    # the thresholds hold client-side too, whatever the service returned
    assert [lb.name for lb in findings.labels] == ["Animal"]
    assert version == labels.model_version == "3.1"


async def test_model_version_is_exact_per_task_with_calls_in_flight(client: Any, stubber: AioStubber) -> None:
    labels = analyzer("labels", client)
    for version in ("3.0", "3.1"):
        stubber.add_response("detect_labels", {**LABELS_RESPONSE, "LabelModelVersion": version}, None)
    both_done = asyncio.Barrier(2)

    async def run() -> str:  # as the pipeline does: analyze, then read model_version in the same task
        await labels.analyze(ITEM, {})
        await both_done.wait()  # both calls are done before either task reads the version
        return labels.model_version

    versions = await asyncio.gather(run(), run())
    assert sorted(versions) == ["3.0", "3.1"]
    assert labels.model_version in ("3.0", "3.1")  # outside those tasks: the last one seen


async def test_bad_parameters_fail_before_any_call(client: Any, stubber: AioStubber) -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        await analyzer("labels", client).analyze(ITEM, {"min_confidence": 150})
    with pytest.raises(ValueError, match="max_labels"):
        await analyzer("labels", client).analyze(ITEM, {"max_labels": 0})


# ---- properties ---------------------------------------------------------------------------------------


async def test_properties_quality_and_dominant_colors(client: Any, stubber: AioStubber) -> None:
    quality = {"Brightness": 62.5, "Sharpness": 81.25, "Contrast": 44.0}
    colors = [
        {
            "Red": 30,
            "Green": 30,
            "Blue": 30,
            "HexCode": "#1e1e1e",
            "CSSColor": "black",
            "SimplifiedColor": "black",
            "PixelPercent": 22.5,
        },
        {
            "Red": 40,
            "Green": 120,
            "Blue": 200,
            "HexCode": "#2878c8",
            "CSSColor": "steelblue",
            "SimplifiedColor": "blue",
            "PixelPercent": 61.0,
        },
    ]
    response = {
        "Labels": [],
        "LabelModelVersion": "3.0",
        "ImageProperties": {
            "Quality": quality,
            "DominantColors": colors,
            "Foreground": {"Quality": {"Brightness": 70.0, "Sharpness": 90.0}, "DominantColors": colors[:1]},
            "Background": {"Quality": {"Brightness": 50.0, "Sharpness": 20.0}, "DominantColors": colors[1:]},
        },
    }
    props = analyzer("properties", client)
    stubber.add_response(
        "detect_labels",
        response,
        {
            "Image": BYTES,
            "Features": ["IMAGE_PROPERTIES"],
            "Settings": {"ImageProperties": {"MaxDominantColors": 5}},
        },
    )
    found = (await props.analyze(ITEM, {})).properties
    assert found is not None
    assert (found.brightness, found.sharpness, found.contrast) == (62.5, 81.25, 44.0)
    assert found.quality == round(quality_blend(sharpness=81.25, brightness=62.5, contrast=44.0), 2)
    assert 0 < found.quality <= 100
    assert [(c.red, c.green, c.blue, c.hex, c.pixel_percent) for c in found.dominant_colors] == [
        (40, 120, 200, "#2878C8", 61.0),
        (30, 30, 30, "#1E1E1E", 22.5),
    ]
    assert props.model_version == "3.0"


def test_quality_blend_penalises_soft_dark_and_flat_images() -> None:
    good = quality_blend(sharpness=100, brightness=50, contrast=40)
    assert good == 100.0
    assert quality_blend(sharpness=25, brightness=50, contrast=40) == pytest.approx(50.0)
    assert quality_blend(sharpness=100, brightness=0, contrast=40) == 0.0
    assert quality_blend(sharpness=100, brightness=50, contrast=0) == 0.0
    assert quality_blend(sharpness=100, brightness=85, contrast=40) < good


# ---- faces --------------------------------------------------------------------------------------------


def face_detail(confidence: float, bbox: dict[str, float]) -> dict[str, Any]:
    left, top = bbox["Left"], bbox["Top"]
    points = {
        "eyeLeft": (0.3, 0.4),
        "eyeRight": (0.6, 0.4),
        "nose": (0.45, 0.55),
        "mouthLeft": (0.35, 0.7),
        "mouthRight": (0.55, 0.7),
    }
    return {
        "BoundingBox": bbox,
        "Landmarks": [
            {"Type": t, "X": left + x * bbox["Width"], "Y": top + y * bbox["Height"]}
            for t, (x, y) in points.items()
        ],
        "Pose": {"Roll": -3.5, "Yaw": 12.0, "Pitch": 4.25},
        "Quality": {"Brightness": 80.1, "Sharpness": 92.3},
        "Confidence": confidence,
    }


async def test_faces_boxes_confidence_landmarks_and_no_embedding(client: Any, stubber: AioStubber) -> None:
    faces = analyzer("faces", client)
    response = {
        "FaceDetails": [
            face_detail(99.9, box(0.2, 0.1, 0.2, 0.3)),
            face_detail(97.0, box(-0.05, 0.6, 0.15, 0.5)),  # cut by the left and bottom edges
            face_detail(42.0, box(0.7, 0.7, 0.1, 0.1)),
        ]
    }
    stubber.add_response("detect_faces", response, {"Image": BYTES, "Attributes": ["DEFAULT"]})
    found = (await faces.analyze(ITEM, {"min_confidence": 90})).faces
    assert [f.confidence for f in found] == [99.9, 97.0]
    first, edge = found
    assert first.box == BoundingBox(0.2, 0.1, 0.2, 0.3)
    assert [lm.type for lm in first.landmarks] == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
    eye = first.landmarks[0]
    assert eye.type == "eyeLeft" and eye.x == pytest.approx(0.26) and eye.y == pytest.approx(0.22)
    assert edge.box.left == 0.0 and edge.box.width == pytest.approx(0.1)
    assert edge.box.top == 0.6 and edge.box.height == pytest.approx(0.4)
    assert all(f.embedding == () and f.person_id is None for f in found)
    assert faces.model_version == "unreported"


# ---- text ---------------------------------------------------------------------------------------------


def text_item(
    text: str, kind: str, id_: int, confidence: float, bbox: dict[str, float], parent: int | None = None
) -> dict[str, Any]:
    x, y, w, h = bbox["Left"], bbox["Top"], bbox["Width"], bbox["Height"]
    raw: dict[str, Any] = {
        "DetectedText": text,
        "Type": kind,
        "Id": id_,
        "Confidence": confidence,
        "Geometry": {
            "BoundingBox": bbox,
            "Polygon": [
                {"X": x, "Y": y},
                {"X": x + w, "Y": y},
                {"X": x + w, "Y": y + h},
                {"X": x, "Y": y + h},
            ],
        },
    }
    if parent is not None:
        raw["ParentId"] = parent
    return raw


TEXT_RESPONSE = {
    "TextDetections": [
        text_item("OPEN DAILY", "LINE", 0, 99.2, box(0.1, 0.1, 0.5, 0.1)),
        text_item("exit", "LINE", 1, 30.0, box(0.1, 0.8, 0.1, 0.05)),
        text_item("CAFE", "LINE", 2, 98.0, box(0.1, 0.3, 0.3, 0.1)),
        text_item("OPEN", "WORD", 3, 99.5, box(0.1, 0.1, 0.2, 0.1), parent=0),
        text_item("DAILY", "WORD", 4, 98.9, box(0.35, 0.1, 0.25, 0.1), parent=0),
        text_item("exit", "WORD", 5, 95.0, box(0.1, 0.8, 0.1, 0.05), parent=1),
        text_item("CAFE", "WORD", 6, 98.0, box(0.1, 0.3, 0.3, 0.1), parent=2),
    ],
    "TextModelVersion": "3.0",
}


async def test_text_lines_and_words_with_parent_index(client: Any, stubber: AioStubber) -> None:
    text = analyzer("text", client)
    stubber.add_response("detect_text", TEXT_RESPONSE, {"Image": BYTES})
    found = (await text.analyze(ITEM, {})).text
    assert [(t.text, t.type, t.parent_index) for t in found] == [
        ("OPEN DAILY", "LINE", None),
        ("CAFE", "LINE", None),
        ("OPEN", "WORD", 0),
        ("DAILY", "WORD", 0),
        ("exit", "WORD", None),  # its line fell under min_confidence 50
        ("CAFE", "WORD", 1),
    ]
    assert found[0] == TextDetection("OPEN DAILY", 99.2, "LINE", BoundingBox(0.1, 0.1, 0.5, 0.1))
    for word in found:
        if word.parent_index is not None:
            assert found[word.parent_index].type == "LINE"
    assert text.model_version == "3.0"


# ---- moderation ---------------------------------------------------------------------------------------


async def test_moderation_labels_with_parents(client: Any, stubber: AioStubber) -> None:
    moderation = analyzer("moderation", client)
    response = {
        "ModerationLabels": [
            {"Name": "Suggestive", "Confidence": 88.0, "ParentName": "", "TaxonomyLevel": 1},
            {
                "Name": "Swimwear or Underwear",
                "Confidence": 88.0,
                "ParentName": "Suggestive",
                "TaxonomyLevel": 2,
            },
            {"Name": "Violence", "Confidence": 55.0, "ParentName": "", "TaxonomyLevel": 1},
        ],
        "ModerationModelVersion": "7.0",
        "ContentTypes": [],
    }
    stubber.add_response("detect_moderation_labels", response, {"Image": BYTES, "MinConfidence": 60.0})
    found = (await moderation.analyze(ITEM, {"min_confidence": 60})).moderation
    assert [(x.name, x.confidence, x.parent_name) for x in found] == [
        ("Suggestive", 88.0, ""),
        ("Swimwear or Underwear", 88.0, "Suggestive"),
    ]
    assert moderation.model_version == "7.0"


# ---- people -------------------------------------------------------------------------------------------


async def test_people_are_the_person_label_instances(client: Any, stubber: AioStubber) -> None:
    people = analyzer("people", client)
    response = {
        "Labels": [
            {
                "Name": "Person",
                "Confidence": 99.0,
                "Instances": [
                    {"BoundingBox": box(0.05, 0.1, 0.3, 0.85), "Confidence": 99.0},
                    {"BoundingBox": box(0.6, 0.2, 0.2, 0.7), "Confidence": 81.5},
                    {"BoundingBox": box(0.9, 0.5, 0.05, 0.1), "Confidence": 31.0},
                ],
                "Parents": [],
            },
            {
                "Name": "Dog",
                "Confidence": 90.0,
                "Instances": [{"BoundingBox": box(0, 0, 1, 1), "Confidence": 90.0}],
            },
        ],
        "LabelModelVersion": "3.0",
    }
    stubber.add_response(
        "detect_labels",
        response,
        {
            "Image": BYTES,
            "Features": ["GENERAL_LABELS"],
            "MinConfidence": 50.0,
            "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Person"]}},
        },
    )
    found = (await people.analyze(ITEM, {})).people
    assert [(i.box, i.confidence) for i in found] == [
        (BoundingBox(0.05, 0.1, 0.3, 0.85), 99.0),
        (BoundingBox(0.6, 0.2, 0.2, 0.7), 81.5),
    ]


# ---- which image is sent ------------------------------------------------------------------------------

FITS = OriginalInfo(size_bytes=4_000_000, width=4000, height=3000, media_type="image/jpeg")


def lookup(info: OriginalInfo | None) -> Any:
    async def original_info(key: str) -> OriginalInfo | None:
        assert key == KEY
        return info

    return original_info


async def test_an_original_in_s3_that_fits_is_read_from_s3(client: Any, stubber: AioStubber) -> None:
    text = analyzer("text", client, s3_bucket=BUCKET, original_info=lookup(FITS))
    stubber.add_response(
        "detect_text", TEXT_RESPONSE, {"Image": {"S3Object": {"Bucket": BUCKET, "Name": KEY}}}
    )
    assert len((await text.analyze(ITEM, {})).text) == 6


@pytest.mark.parametrize(
    "info",
    [
        None,  # unknown: prefer bytes
        OriginalInfo(20_000_000, 4000, 3000, "image/jpeg"),  # > 15 MB
        OriginalInfo(2_000, 60, 40, "image/png"),  # < 80 px
        OriginalInfo(9_000_000, 12_000, 3000, "image/jpeg"),  # > 10,000 px
        OriginalInfo(4_000_000, 4000, 3000, "image/jpeg", orientation=6),  # rotated by EXIF
        OriginalInfo(4_000_000, 4000, 3000, "image/webp"),  # Rekognition reads JPEG and PNG only
    ],
)
async def test_an_original_that_may_not_fit_is_sent_as_bytes(
    client: Any, stubber: AioStubber, info: OriginalInfo | None
) -> None:
    text = analyzer("text", client, s3_bucket=BUCKET, original_info=lookup(info))
    stubber.add_response("detect_text", TEXT_RESPONSE, {"Image": BYTES})
    await text.analyze(ITEM, {})


async def test_without_a_bucket_or_a_lookup_bytes_are_sent(client: Any, stubber: AioStubber) -> None:
    stubber.add_response("detect_text", TEXT_RESPONSE, {"Image": BYTES})
    await analyzer("text", client, s3_bucket=BUCKET).analyze(ITEM, {})  # no lookup: size unknown
    stubber.add_response("detect_text", TEXT_RESPONSE, {"Image": BYTES})
    await analyzer("text", client, original_info=lookup(FITS)).analyze(ITEM, {})  # blobs not in S3


def capture_images(client: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def grab(params: dict[str, Any], **_: Any) -> None:
        sent.append(params["Image"])

    client.meta.events.register("before-parameter-build.rekognition.DetectLabels", grab)
    return sent


def sent_size(image: dict[str, Any]) -> tuple[int, int]:
    data = image["Bytes"]
    assert 0 < len(data) <= BYTES_MAX
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return img.size


async def test_a_huge_image_is_downscaled_and_reencoded_within_limits(
    client: Any, stubber: AioStubber
) -> None:
    item = make_input((10_500, 1_400), noise=True)  # its JPEG is > 5 MB; noise needs lower quality too
    assert len(item.jpeg) > BYTES_MAX
    sent = capture_images(client)
    stubber.add_response(
        "detect_labels",
        LABELS_RESPONSE,
        {"Image": {"Bytes": ANY}, "Features": ANY, "MinConfidence": ANY, "MaxLabels": ANY},
    )
    await analyzer("labels", client).analyze(item, {})
    width, height = sent_size(sent[0])
    assert width == MAX_SIDE and height == 1333


async def test_a_tiny_image_is_upscaled_to_the_minimum_side(client: Any, stubber: AioStubber) -> None:
    item = make_input((40, 20))
    sent = capture_images(client)
    stubber.add_response(
        "detect_labels",
        LABELS_RESPONSE,
        {"Image": {"Bytes": ANY}, "Features": ANY, "MinConfidence": ANY, "MaxLabels": ANY},
    )
    await analyzer("labels", client).analyze(item, {})
    assert sent_size(sent[0]) == (160, MIN_SIDE)


async def test_an_extreme_panorama_is_padded_and_boxes_map_back(client: Any, stubber: AioStubber) -> None:
    item = make_input((1024, 4))  # 256:1 — cannot have both sides within 80–10,000 px without padding
    sent = capture_images(client)
    response = {
        "Labels": [
            {
                "Name": "Person",
                "Confidence": 90.0,
                "Instances": [{"BoundingBox": box(0.5, 0.0, 0.1, 0.4875), "Confidence": 90.0}],
            }
        ],
        "LabelModelVersion": "3.0",
    }
    stubber.add_response(
        "detect_labels",
        response,
        {"Image": {"Bytes": ANY}, "Features": ANY, "MinConfidence": ANY, "Settings": ANY},
    )
    found = (await analyzer("people", client).analyze(item, {})).people
    assert sent_size(sent[0]) == (MAX_SIDE, MIN_SIDE)
    assert found[0].box == BoundingBox(0.5, 0.0, 0.1, 1.0)  # the image filled 39 of the 80 rows sent


def test_prepare_bytes_steps_quality_then_size_down_to_the_byte_limit() -> None:
    item = make_input((1000, 800), noise=True)
    prepared = prepare_bytes(item.image, item.jpeg, max_bytes=60_000)
    assert len(prepared.data) <= 60_000
    assert min(prepared.width, prepared.height) >= MIN_SIDE and prepared.width < 1000
    assert prepare_bytes(ITEM.image, ITEM.jpeg).data is ITEM.jpeg  # a fitting preview goes as is


def test_mapping_clips_boxes_and_unpads() -> None:
    clipped = to_box(box(-0.1, 0.9, 0.3, 0.3))
    assert (clipped.left, clipped.top) == (0.0, 0.9)
    assert clipped.width == pytest.approx(0.2) and clipped.height == pytest.approx(0.1)
    findings = Findings(text=(TextDetection("x", 90.0, "WORD", BoundingBox(0.2, 0.1, 0.2, 0.25)),))
    assert unpad(findings, 0.5, 0.5).text[0].box == BoundingBox(0.4, 0.2, 0.4, 0.5)
    assert unpad(findings, 1.0, 1.0) is findings


# ---- throttling and errors ----------------------------------------------------------------------------


async def test_throttling_is_retried_with_jittered_backoff(client: Any, stubber: AioStubber) -> None:
    sleeps = Sleeps()
    clock = [0.0]
    bucket = TokenBucket(5.0, burst=10, clock=lambda: clock[0], sleep=sleeps)
    labels = analyzer(
        "labels", client, buckets={"DetectLabels": bucket}, sleep=sleeps, random=lambda: 0.5, base_delay=0.2
    )
    stubber.add_client_error("detect_labels", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_client_error(
        "detect_labels", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    stubber.add_response("detect_labels", LABELS_RESPONSE, None)
    findings = await labels.analyze(ITEM, {})
    assert [lb.name for lb in findings.labels] == ["Animal", "Dog", "Grass"]
    assert sleeps.delays == [pytest.approx(0.5 * 0.2), pytest.approx(0.5 * 0.4)]  # random() · base · 2^retry
    assert bucket.tokens == 7.0  # one token per attempt


async def test_server_errors_are_retried_and_attempts_run_out(client: Any, stubber: AioStubber) -> None:
    sleeps = Sleeps()
    faces = analyzer(
        "faces", client, attempts=3, sleep=sleeps, random=lambda: 1.0, base_delay=1.0, max_delay=1.5
    )
    stubber.add_client_error("detect_faces", service_error_code="InternalServerError", http_status_code=500)
    stubber.add_client_error("detect_faces", service_error_code="ServiceUnavailable", http_status_code=503)
    stubber.add_client_error("detect_faces", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(ClientError) as caught:
        await faces.analyze(ITEM, {})
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert sleeps.delays == [1.0, 1.5]  # capped by max_delay


async def test_a_non_retryable_error_propagates_at_once(client: Any, stubber: AioStubber) -> None:
    sleeps = Sleeps()
    labels = analyzer("labels", client, sleep=sleeps)
    stubber.add_client_error(
        "detect_labels", service_error_code="InvalidImageFormatException", http_status_code=400
    )
    # Refused input is final: a typed error the worker does not retry, carrying the service's reason.
    with pytest.raises(AnalyzerInputError, match="InvalidImageFormatException") as caught:
        await labels.analyze(ITEM, {})
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.__cause__.response["Error"]["Code"] == "InvalidImageFormatException"
    assert sleeps.delays == []
    assert labels.model_version == "unknown"


# ---- construction -------------------------------------------------------------------------------------


async def test_construction_and_factories(client: Any) -> None:
    buckets = make_buckets({"DetectText": 2.0})
    assert buckets["DetectText"].rate_per_s == 2.0 and buckets["DetectLabels"].rate_per_s == 5.0
    with pytest.raises(ValueError, match="unknown Rekognition analyzer"):
        RekognitionAnalyzer("embedding", client, s3_bucket=None, buckets=buckets)
    with pytest.raises(ValueError, match="no token bucket for DetectFaces"):
        RekognitionAnalyzer("faces", client, s3_bucket=None, buckets={"DetectLabels": free_bucket()})
    factories = rekognition_factories(
        client, s3_bucket=BUCKET, buckets=buckets, defaults={"labels": {"max_labels": 50}}
    )
    assert sorted(factories) == sorted(
        (n, "rekognition")
        for n in ("labels", "objects", "properties", "people", "faces", "text", "moderation")
    )
    built = {name: make() for (name, _), make in factories.items()}
    assert built["labels"].defaults["max_labels"] == 50 and built["labels"].defaults["min_confidence"] == 50.0
    assert all(a.provider == "rekognition" and a.name == n for n, a in built.items())
    assert built["moderation"].model_name == "amazon-rekognition-detect-moderation-labels"


# ---- rate_limit units ---------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the injected sleep is awaited."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


async def test_token_bucket_spends_the_burst_then_waits_for_refill() -> None:
    t = FakeTime()
    bucket = TokenBucket(4.0, burst=2, clock=t.clock, sleep=t.sleep)
    await bucket.acquire()
    await bucket.acquire()
    assert t.slept == []
    await bucket.acquire()  # empty: wait one token's refill time
    assert t.slept == [pytest.approx(0.25)]
    t.now += 10.0  # a long idle refills only up to the burst
    assert bucket.tokens == 2.0


async def test_token_bucket_serves_concurrent_waiters_at_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(2.0, burst=1, clock=t.clock, sleep=t.sleep)
    order: list[int] = []

    async def take(i: int) -> None:
        await bucket.acquire()
        order.append(i)

    await asyncio.gather(*(take(i) for i in range(5)))
    assert order == [0, 1, 2, 3, 4]  # FIFO
    assert t.now == pytest.approx(2.0)  # 1 from the burst, then 4 at 2/s


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0.0)
    with pytest.raises(ValueError):
        TokenBucket(1.0, burst=0)


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DetectLabels",
    )


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (client_error("ThrottlingException"), True),
        (client_error("ProvisionedThroughputExceededException"), True),
        (client_error("LimitExceededException"), True),
        (client_error("InternalServerError", 500), True),
        (client_error("ServiceUnavailable", 503), True),
        (client_error("SomethingNew", 502), True),  # any 5xx
        (client_error("InvalidImageFormatException"), False),
        (client_error("AccessDeniedException"), False),
        (client_error("ImageTooLargeException"), False),
        (ValueError("bug"), False),
    ],
)
def test_what_is_retried(exc: BaseException, retry: bool) -> None:
    assert is_retryable(exc) is retry


async def test_call_with_retries_full_jitter_bounds() -> None:
    sleeps = Sleeps()
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 5:
            raise client_error("ThrottlingException")
        return "ok"

    draws = iter([0.0, 0.25, 1.0, 0.999])
    result = await call_with_retries(
        flaky, attempts=5, base_delay=1.0, max_delay=5.0, sleep=sleeps, random=lambda: next(draws)
    )
    assert (result, calls) == ("ok", 5)
    # random() · min(max_delay, base · 2^retry): caps 1, 2, 4, 5
    assert sleeps.delays == [0.0, 0.5, 4.0, pytest.approx(4.995)]
    with pytest.raises(ValueError):
        await call_with_retries(flaky, attempts=0)
