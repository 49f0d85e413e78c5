"""Debian's exiftool (libimage-exiftool-perl) as the reference writer and reader of metadata in tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.photos import write_photo

EXIFTOOL = shutil.which("exiftool") or "exiftool"  # `make test` installs it (apt)

# A photo as a picture desk would caption it: IPTC-IIM, XMP and EXIF, hierarchical keywords, a person region
# drawn both the IPTC way (top-left) and the MWG way (centred) on the astronaut's face.
TAGGED = [
    "-XMP-dc:Title=Astronaut portrait",
    "-IPTC:ObjectName=Astronaut portrait",
    "-XMP-dc:Description=Eileen Collins before the STS-93 mission",
    "-IPTC:Caption-Abstract=Eileen Collins before the STS-93 mission",
    "-XMP-dc:Subject=astronaut",
    "-XMP-dc:Subject=spaceflight",
    "-IPTC:Keywords=astronaut",
    "-IPTC:Keywords=spaceflight",
    "-XMP-lr:HierarchicalSubject=People|Astronauts|Eileen Collins",
    "-XMP-lr:HierarchicalSubject=Places|Houston",
    "-XMP-digiKam:TagsList=Missions/STS-93",
    "-XMP-dc:Creator=NASA photographer",
    "-XMP-photoshop:Credit=NASA",
    "-XMP-dc:Rights=Public domain",
    "-XMP-xmpRights:UsageTerms=Free for editorial use",
    "-XMP-photoshop:City=Houston",
    "-XMP-photoshop:Country=USA",
    "-XMP-iptcExt:PersonInImage=Eileen Collins",
    "-GPSLatitude=29.55",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=95.09",
    "-GPSLongitudeRef=W",
    "-DateTimeOriginal=1998:07:15 10:30:00",
    "-XMP-iptcExt:ImageRegion=[{RegionBoundary={RbShape=rectangle,RbUnit=relative,RbX=0.33,RbY=0.05,"
    "RbW=0.25,RbH=0.3},Name=Eileen Collins,RCtype=[{Identifier=[http://cv.iptc.org/newscodes/"
    "imageregiontype/human]}]}]",
    "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=512,H=512,Unit=pixel},RegionList=[{Area={X=0.455,"
    "Y=0.2,W=0.25,H=0.3,Unit=normalized},Name=Eileen Collins,Type=Face}]}",
]


def exiftool_write(path: Path, *args: str) -> Path:
    subprocess.run([EXIFTOOL, "-q", "-q", "-overwrite_original", *args, str(path)], check=True)
    return path


def exiftool_read(path: Path) -> dict[str, Any]:
    """Every tag exiftool finds, grouped by family-1 group (XMP-dc:Title, IPTC:Keywords, ...), structures
    kept whole."""
    out = subprocess.run(
        [EXIFTOOL, "-json", "-G1", "-struct", "-n", str(path)], check=True, capture_output=True, text=True
    ).stdout
    tags: dict[str, Any] = json.loads(out)[0]
    return tags


def tagged_astronaut(path: Path) -> Path:
    return exiftool_write(write_photo(path, "astronaut"), *TAGGED)


def exiftool_sidecar(source: Path, sidecar: Path) -> Path:
    """An .xmp sidecar holding what `source` carries, as exiftool writes one."""
    subprocess.run([EXIFTOOL, "-q", "-o", str(sidecar), str(source)], check=True)
    return sidecar
