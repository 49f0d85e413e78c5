"""Exports read back by exiftool, field by field: a sidecar and an embedded copy; the original untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from catalog.domain.export_record import ExportRecord, MachineKeyword, MachineRegion
from catalog.domain.model import BoundingBox
from indexer.metadata.exiv2_metadata import Exiv2Metadata
from indexer.metadata.xmp_mapping import MACHINE_SOURCE, NAMESPACE
from tests.indexer.metadata.exiftool import exiftool_read, tagged_astronaut

HUMAN = "http://cv.iptc.org/newscodes/imageregiontype/human"


def _record(exiv2: Exiv2Metadata, photo: Path) -> ExportRecord:
    return ExportRecord(
        asset_id="A1",
        filename=photo.name,
        media_type="image/jpeg",
        width=512,
        height=512,
        embedded=exiv2.read(photo.read_bytes(), width=512, height=512),
        keywords=(MachineKeyword("Helmet", 91.25, ("Clothing",), "efficientnet-lite0", "1.0"),),
        regions=(
            MachineRegion(
                BoundingBox(0.35, 0.08, 0.2, 0.25), "face", "Eileen Collins", 99.5, "dlib-hog", "20.0"
            ),
            MachineRegion(BoundingBox(0.1, 0.0, 0.8, 1.0), "person", "", 80.0, "hog-people", "4.14"),
        ),
    )


def _check_fields(tags: dict[str, Any]) -> None:
    assert tags["XMP-dc:Title"] == "Astronaut portrait"
    assert tags["XMP-dc:Description"] == "Eileen Collins before the STS-93 mission"
    subjects = set(tags["XMP-dc:Subject"])
    assert {"astronaut", "spaceflight", "Eileen Collins", "STS-93", "Helmet"} <= subjects
    assert set(tags["XMP-lr:HierarchicalSubject"]) == {
        "People|Astronauts|Eileen Collins",
        "Places|Houston",
        "Missions|STS-93",
        "Clothing|Helmet",
    }
    assert tags["XMP-dc:Creator"] in ("NASA photographer", ["NASA photographer"])
    assert tags["XMP-photoshop:Credit"] == "NASA"
    assert tags["XMP-dc:Rights"] == "Public domain"
    assert tags["XMP-xmpRights:UsageTerms"] == "Free for editorial use"
    assert (tags["XMP-photoshop:City"], tags["XMP-photoshop:Country"]) == ("Houston", "USA")
    assert abs(tags["XMP-exif:GPSLatitude"] - 29.55) < 1e-5
    assert abs(tags["XMP-exif:GPSLongitude"] + 95.09) < 1e-5
    assert str(tags["XMP-photoshop:DateCreated"]).startswith("1998:07:15 10:30:00")
    assert tags["XMP-iptcExt:PersonInImage"] in ("Eileen Collins", ["Eileen Collins"])
    assert tags["XMP-msight:MachineKeywords"] in ("Helmet", ["Helmet"])
    assert set(tags["XMP-msight:Models"]) == {"efficientnet-lite0 1.0", "dlib-hog 20.0", "hog-people 4.14"}
    regions = tags["XMP-iptcExt:ImageRegion"]
    # The drawn face, then the machine's: the named detected face is another box, so it is written too.
    human, face, person = regions
    assert human["Name"] == "Eileen Collins" and "DigitalSourceType" not in human
    assert human["RegionBoundary"] == {
        "RbShape": "rectangle",
        "RbUnit": "relative",
        "RbX": 0.33,
        "RbY": 0.05,
        "RbW": 0.25,
        "RbH": 0.3,
    }
    assert human["RCtype"][0]["Identifier"] in (HUMAN, [HUMAN])
    assert face["Name"] == "Eileen Collins"
    assert face["DigitalSourceType"] == MACHINE_SOURCE
    assert (face["XMP-msight:Model"], str(face["XMP-msight:ModelVersion"])) == ("dlib-hog", "20.0")
    assert face["XMP-msight:Confidence"] == 99.5
    assert person["RegionBoundary"]["RbW"] == 0.8 and "Name" not in person
    mwg = tags["XMP-mwg-rs:RegionInfo"]
    assert mwg["AppliedToDimensions"] == {"W": 512, "H": 512, "Unit": "pixel"}
    faces = mwg["RegionList"]
    # one face tag per person: the detected face named after the drawn one is no second tag
    assert [(f["Type"], f["Name"]) for f in faces] == [("Face", "Eileen Collins")]
    assert faces[0]["Area"] == {"X": 0.455, "Y": 0.2, "W": 0.25, "H": 0.3, "Unit": "normalized"}


def test_sidecar_read_back_by_exiftool(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    photo = tagged_astronaut(tmp_path / "a.jpg")
    sidecar = tmp_path / "a.xmp"
    sidecar.write_bytes(exiv2.sidecar(_record(exiv2, photo)))
    assert NAMESPACE.encode() in sidecar.read_bytes()
    _check_fields(exiftool_read(sidecar))


def test_embedded_copy_read_back_by_exiftool_and_original_untouched(
    tmp_path: Path, exiv2: Exiv2Metadata
) -> None:
    photo = tagged_astronaut(tmp_path / "a.jpg")
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    record = _record(exiv2, photo)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(exiv2.embed(photo.read_bytes(), record))
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before
    tags = exiftool_read(copy)
    _check_fields(tags)
    assert set(tags["IPTC:Keywords"]) >= {"astronaut", "Helmet"}
    assert tags["IPTC:Caption-Abstract"] == "Eileen Collins before the STS-93 mission"
    # IIM's own date for readers without XMP (no zone was recorded: IIM needs one, +00:00)
    assert (str(tags["IPTC:DateCreated"]), str(tags["IPTC:TimeCreated"])) == ("1998:07:15", "10:30:00+00:00")
    # The picture itself is the same picture.
    assert tags["File:ImageWidth"] == 512


def test_the_copy_reads_back_into_the_same_metadata(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    photo = tagged_astronaut(tmp_path / "a.jpg")
    record = _record(exiv2, photo)
    again = exiv2.read(exiv2.embed(photo.read_bytes(), record), width=512, height=512)
    assert set(again.all_keywords()) == set(record.all_keywords())
    assert set(again.persons) == set(record.persons())
    boxes = {(r.name, r.box) for r in again.regions}
    assert (("Eileen Collins", BoundingBox(0.33, 0.05, 0.25, 0.3))) in boxes
    assert (("Eileen Collins", BoundingBox(0.35, 0.08, 0.2, 0.25))) in boxes
    assert again.gps == record.embedded.gps
    assert again.captured_at == record.embedded.captured_at
