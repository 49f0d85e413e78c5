"""Reading what exiftool wrote (IPTC-IIM, XMP, EXIF, a sidecar); bounds on hostile files."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from catalog.domain.embedded import MAX_ITEMS, MAX_TEXT
from catalog.domain.model import BoundingBox
from indexer.metadata.exiv2_metadata import Exiv2Metadata
from indexer.metadata.exiv2_sandbox import Exiv2Sandbox, MetadataError, MetadataTimeout
from tests.e2e.photos import write_photo
from tests.indexer.metadata.exiftool import EXIFTOOL, exiftool_write, tagged_astronaut


def test_reads_every_field_exiftool_wrote(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    meta = exiv2.read(tagged_astronaut(tmp_path / "a.jpg").read_bytes(), width=512, height=512)
    assert meta.title == "Astronaut portrait"
    assert meta.caption == "Eileen Collins before the STS-93 mission"
    assert meta.keywords == ("astronaut", "spaceflight")
    assert meta.hierarchy == (
        ("People", "Astronauts", "Eileen Collins"),
        ("Places", "Houston"),
        ("Missions", "STS-93"),
    )
    assert meta.creators == ("NASA photographer",)
    assert (meta.credit, meta.copyright, meta.usage_terms) == (
        "NASA",
        "Public domain",
        "Free for editorial use",
    )
    assert (meta.city, meta.country) == ("Houston", "USA")
    assert meta.gps is not None
    assert (meta.gps.latitude, meta.gps.longitude) == (pytest.approx(29.55), pytest.approx(-95.09))
    assert meta.persons == ("Eileen Collins",)
    assert meta.captured_at == datetime(1998, 7, 15, 10, 30)
    # The same face drawn the IPTC way and the MWG way (centred) comes back once.
    assert len(meta.regions) == 1
    region = meta.regions[0]
    assert (region.name, region.kind, region.source) == ("Eileen Collins", "human", "iptc")
    assert region.box == BoundingBox(0.33, 0.05, 0.25, 0.3)
    assert set(meta.sources) == {"exif", "iptc", "xmp"}
    assert not meta.truncated
    assert "Eileen Collins" in meta.words() and "STS-93" in meta.words()


def test_an_exif_time_keeps_the_offset_written_beside_it(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    """EXIF 2.31's OffsetTimeOriginal is the zone of DateTimeOriginal; XMP writes its zone in the value."""
    photo = exiftool_write(
        write_photo(tmp_path / "p.jpg", "coffee"),
        "-EXIF:DateTimeOriginal=2024:05:01 10:00:00",
        "-EXIF:OffsetTimeOriginal=-03:30",
    )
    taken = exiv2.read(photo.read_bytes()).captured_at
    assert taken is not None and taken.isoformat() == "2024-05-01T10:00:00-03:30"
    photo = exiftool_write(
        write_photo(tmp_path / "x.jpg", "coffee"), "-XMP-photoshop:DateCreated=1969-07-16T09:32-04:00"
    )
    taken = exiv2.read(photo.read_bytes()).captured_at
    assert taken is not None and taken.isoformat() == "1969-07-16T09:32:00-04:00"
    # a print dated by its year, or its month, as cataloguers do: found by it (it was dropped)
    for i, (written, read) in enumerate(
        (("1950", "1950-01-01T00:00:00"), ("1950-06", "1950-06-01T00:00:00"))
    ):
        photo = exiftool_write(
            write_photo(tmp_path / f"y{i}.jpg", "coffee"), f"-XMP-photoshop:DateCreated={written}"
        )
        meta = exiv2.read(photo.read_bytes())
        assert meta.captured_at is not None and meta.captured_at.isoformat() == read, written
        assert meta.captured_partial == written and meta.captured_text == written  # exports write it so


def test_a_sidecar_says_when_with_its_zone_and_a_broken_one_hides_nothing(
    tmp_path: Path, exiv2: Exiv2Metadata
) -> None:
    """A sidecar's XMP date keeps its zone and hour (exiv2's EXIF copy of it read 01:00 UTC, 'exif'); an
    unreadable sidecar leaves the file's own metadata, with the problem said (it emptied it)."""
    photo = exiftool_write(write_photo(tmp_path / "p.jpg", "coffee"), "-XMP-dc:Title=In the file")
    exiftool_write(
        write_photo(tmp_path / "q.jpg", "coffee"), "-XMP-photoshop:DateCreated=2005-10-01T09:00:00+08:00"
    )
    sidecar = tmp_path / "p.xmp"
    subprocess.run([EXIFTOOL, "-q", "-o", str(sidecar), str(tmp_path / "q.jpg")], check=True)
    meta = exiv2.read(photo.read_bytes(), sidecar=sidecar.read_bytes())
    assert meta.captured_at is not None and meta.captured_at.isoformat() == "2005-10-01T09:00:00+08:00"
    assert meta.title == "In the file" and "exif" not in meta.sources
    broken = exiv2.read(photo.read_bytes(), sidecar=sidecar.read_bytes()[:40])
    assert broken.title == "In the file" and "sidecar" in broken.problem


def test_iim_alone_and_mwg_alone(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    photo = exiftool_write(
        write_photo(tmp_path / "p.jpg", "coffee"),
        "-IPTC:Caption-Abstract=A cup of coffee",
        "-IPTC:Keywords=coffee",
        "-IPTC:Keywords=cup",
        "-IPTC:By-line=Someone",
        "-IPTC:DateCreated=2011:08:15",
        "-IPTC:TimeCreated=18:24:59+02:00",
        "-XMP-mwg-rs:RegionInfo={RegionList=[{Area={X=0.5,Y=0.5,W=0.2,H=0.4,Unit=normalized},"
        "Name=Ann,Type=Face}]}",
    )
    meta = exiv2.read(photo.read_bytes())
    # the date with its time and the offset it was written at
    assert meta.captured_at == datetime(2011, 8, 15, 18, 24, 59, tzinfo=timezone(timedelta(hours=2)))
    assert meta.captured_at.isoformat() == "2011-08-15T18:24:59+02:00"
    assert (meta.caption, meta.keywords, meta.creators) == (
        "A cup of coffee",
        ("coffee", "cup"),
        ("Someone",),
    )
    assert [(r.name, r.kind, r.source) for r in meta.regions] == [("Ann", "face", "mwg")]
    assert meta.regions[0].box == BoundingBox(0.4, 0.3, 0.2, 0.4)  # centred area → top-left box
    assert meta.persons == ("Ann",)


def test_sidecar_wins_field_by_field(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    photo = exiftool_write(
        write_photo(tmp_path / "p.jpg", "coffee"), "-XMP-dc:Title=In the file", "-IPTC:Keywords=old"
    )
    sidecar = tmp_path / "p.xmp"
    exiftool_write(
        write_photo(tmp_path / "q.jpg", "coffee"),
        "-XMP-dc:Subject=from sidecar",
        "-XMP-lr:HierarchicalSubject=Drinks|Coffee",
    )
    subprocess.run([EXIFTOOL, "-q", "-o", str(sidecar), str(tmp_path / "q.jpg")], check=True)
    meta = exiv2.read(photo.read_bytes(), sidecar=sidecar.read_bytes())
    assert meta.title == "In the file"  # the sidecar has none
    assert meta.keywords == ("from sidecar",)
    assert meta.hierarchy == (("Drinks", "Coffee"),)
    assert "sidecar" in meta.sources


def test_pixel_regions_and_regions_outside_the_image(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    photo = exiftool_write(
        write_photo(tmp_path / "p.jpg", "astronaut"),
        "-XMP-iptcExt:ImageRegion=[{RegionBoundary={RbShape=rectangle,RbUnit=pixel,RbX=256,RbY=0,RbW=128,"
        "RbH=512},Name=Half},{RegionBoundary={RbShape=rectangle,RbUnit=relative,RbX=2,RbY=2,RbW=1,RbH=1},"
        "Name=Outside},{RegionBoundary={RbShape=circle,RbUnit=relative,RbX=0.5,RbY=0.5,RbRx=0.1},Name=Round},"
        "{RegionBoundary={RbShape=rectangle,RbUnit=relative,RbX=0.9,RbY=0.9,RbW=0.5,RbH=0.5},Name=Clipped}]",
    )
    meta = exiv2.read(photo.read_bytes(), width=512, height=512)
    assert [(r.name, r.box) for r in meta.regions] == [
        ("Half", BoundingBox(0.5, 0.0, 0.25, 1.0)),
        ("Clipped", BoundingBox(0.9, 0.9, 0.1, 0.1)),
    ]


def test_hostile_amounts_are_cut_not_fatal(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    many = [f"-XMP-dc:Subject=k{i}" for i in range(MAX_ITEMS + 100)]
    photo = exiftool_write(
        write_photo(tmp_path / "p.jpg", "coffee"),
        *many,
        "-XMP-dc:Description=" + "x" * (MAX_TEXT * 3),
        "-XMP-lr:HierarchicalSubject=" + "|".join(f"l{i}" for i in range(40)),
    )
    meta = exiv2.read(photo.read_bytes())
    assert len(meta.keywords) == MAX_ITEMS
    assert len(meta.caption) == MAX_TEXT
    assert len(meta.hierarchy[0]) == 12
    assert meta.truncated


def test_latin1_iim_without_a_character_set(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    photo = exiftool_write(
        write_photo(tmp_path / "p.jpg", "coffee"),
        "-charset",
        "iptc=Latin",
        "-IPTC:Caption-Abstract=café crème",
    )
    assert exiv2.read(photo.read_bytes()).caption == "café crème"


def test_a_file_without_metadata_is_empty(tmp_path: Path, exiv2: Exiv2Metadata) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)
    meta = exiv2.read(path.read_bytes())
    assert meta.empty and not meta.problem


def test_unreadable_bytes_are_a_typed_error(exiv2: Exiv2Metadata) -> None:
    with pytest.raises(MetadataError, match="exiv2 could not handle the file"):
        exiv2.read(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage-not-a-jpeg")


def test_an_idle_child_that_died_is_restarted(tmp_path: Path) -> None:
    sandbox = Exiv2Sandbox()
    try:
        exiv2 = Exiv2Metadata(sandbox)
        photo = tagged_astronaut(tmp_path / "a.jpg").read_bytes()
        assert exiv2.read(photo).title
        pid = sandbox.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert exiv2.read(photo).title == "Astronaut portrait"
        assert sandbox.pid not in (None, pid)
    finally:
        sandbox.close()


# A child that dies halfway through a request, as one would when exiv2 crashes on a file.
CRASHING = (sys.executable, "-c", "import os, sys; sys.stdin.buffer.read(8); os._exit(139)")
HANGING = (sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(8); time.sleep(60)")


def test_a_child_that_dies_on_a_file_is_a_typed_error_and_is_replaced(tmp_path: Path) -> None:
    sandbox = Exiv2Sandbox(command=CRASHING)
    try:
        with pytest.raises(MetadataError, match=r"exiv2 process stopped on the file \(exit status 139\)"):
            Exiv2Metadata(sandbox).read(b"any bytes")
        assert sandbox.pid is None
    finally:
        sandbox.close()


def test_a_request_past_the_timeout_stops_the_child() -> None:
    sandbox = Exiv2Sandbox(command=HANGING, timeout=0.5)
    try:
        Exiv2Metadata(sandbox).read(b"x")  # starts it
    except MetadataTimeout as exc:
        assert "took over 0.5 s" in str(exc)
    else:
        raise AssertionError("no timeout")
    assert sandbox.pid is None
    sandbox.close()


def test_mutated_files_give_metadata_or_a_typed_error(tmp_path: Path) -> None:
    """Bytes of a tagged photo flipped at random inside its metadata segments: never anything but
    EmbeddedMetadata or MetadataError (a crash or a hang of exiv2 is a MetadataError too)."""
    sandbox = Exiv2Sandbox(timeout=2.0)
    exiv2 = Exiv2Metadata(sandbox)
    data = tagged_astronaut(tmp_path / "a.jpg").read_bytes()
    end = data.index(b"\xff\xda")  # start of scan: the metadata lies before it
    rng = random.Random(18)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(40):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 40)):
            mutated[rng.randrange(2, end)] = rng.randrange(256)
        try:
            exiv2.read(bytes(mutated), width=512, height=512)
            outcomes["read"] += 1
        except MetadataTimeout:
            outcomes["hung"] = outcomes.get("hung", 0) + 1
        except MetadataError:
            outcomes["refused"] += 1
    assert sum(outcomes.values()) == 40, outcomes
    assert exiv2.read(data).title == "Astronaut portrait"  # and the reader still works
    sandbox.close()
