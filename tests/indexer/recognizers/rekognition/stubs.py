"""Canned Rekognition face-collection responses (validated by AioStubber against the service model)."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.stub import ANY

from indexer.recognizers.rekognition.provider import rekognition_parts
from mediasight.bootstrap import Services
from mediasight.providers import rekognition_config

PREFIX = "mediasight-"


def face_id(n: int) -> str:
    """A FaceId (Rekognition: lowercase UUID) that is easy to recognise in failures."""
    return str(uuid.UUID(int=n))


def bbox(left: float = 0.3, top: float = 0.2, width: float = 0.2, height: float = 0.3) -> dict[str, float]:
    return {"Left": left, "Top": top, "Width": width, "Height": height}


def detail(confidence: float, box: dict[str, float] | None = None) -> dict[str, Any]:
    box = box or bbox()
    return {
        "BoundingBox": box,
        "Landmarks": [
            {"Type": "eyeLeft", "X": box["Left"] + 0.05, "Y": box["Top"] + 0.1},
            {"Type": "eyeRight", "X": box["Left"] + 0.15, "Y": box["Top"] + 0.1},
            {"Type": "nose", "X": box["Left"] + 0.1, "Y": box["Top"] + 0.15},
        ],
        "Pose": {"Roll": 1.0, "Yaw": -2.0, "Pitch": 3.0},
        "Quality": {"Brightness": 70.0, "Sharpness": 80.0},
        "Confidence": confidence,
    }


def record(fid: str, asset_id: str, confidence: float, box: dict[str, float] | None = None) -> dict[str, Any]:
    box = box or bbox()
    return {
        "Face": {
            "FaceId": fid,
            "BoundingBox": box,
            "ImageId": face_id(10_000),
            "ExternalImageId": asset_id,
            "Confidence": confidence,
        },
        "FaceDetail": detail(confidence, box),
    }


def indexed(records: list[dict[str, Any]], unindexed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "FaceRecords": records,
        "UnindexedFaces": [{"Reasons": ["LOW_SHARPNESS"], "FaceDetail": d} for d in unindexed or []],
        "FaceModelVersion": "7.0",
    }


def match(fid: str, asset_id: str, similarity: float) -> dict[str, Any]:
    return {
        "Similarity": similarity,
        "Face": {
            "FaceId": fid,
            "BoundingBox": bbox(),
            "ImageId": face_id(10_001),
            "ExternalImageId": asset_id,
            "Confidence": 99.9,
        },
    }


def matches(searched: str, *found: dict[str, Any]) -> dict[str, Any]:
    return {"SearchedFaceId": searched, "FaceMatches": list(found), "FaceModelVersion": "7.0"}


CREATED = {"StatusCode": 200, "CollectionArn": "aws:rekognition:us-east-1:123456789012:collection/x"}


def index_params(tenant: str, asset_id: str, *, max_faces: int = 20, quality: str = "AUTO") -> dict[str, Any]:
    return {
        "CollectionId": PREFIX + tenant,
        "Image": ANY,
        "ExternalImageId": asset_id,
        "DetectionAttributes": ["DEFAULT"],
        "MaxFaces": max_faces,
        "QualityFilter": quality,
    }


def search_params(tenant: str, fid: str, max_faces: int, threshold: float = 80.0) -> dict[str, Any]:
    return {
        "CollectionId": PREFIX + tenant,
        "FaceId": fid,
        "FaceMatchThreshold": threshold,
        "MaxFaces": max_faces,
    }


def use_rekognition(services: Services, client: Any) -> None:
    """Offer the Rekognition provider over a (stubbed) client, as the services' start() does over a real
    one."""
    config = rekognition_config(services.settings)
    services.add_provider(rekognition_parts(config, client, services.catalog, services.cpu))
