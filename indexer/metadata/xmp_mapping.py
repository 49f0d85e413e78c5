"""ExportRecord → exiv2 keys (XMP, and IPTC-IIM for embedded copies): IPTC Core and Extension, dc:subject
with the hierarchy in lr:hierarchicalSubject, regions as IPTC Image Regions (and MWG-RS for faces), machine
values marked with IPTC Digital Source Type and their model in the Mediasight namespace. Pure.

The Mediasight namespace (README: Exported metadata) is `http://ns.mediasight.org/xmp/1.0/`, prefix
`msight`: msight:MachineKeywords (bag), msight:Models (bag of "analyzer model version"), and in each
machine-made region msight:Model, msight:ModelVersion, msight:Confidence (0–100).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.domain.embedded import EmbeddedMetadata, ImageRegion, name_faces
from catalog.domain.export_record import ExportRecord, MachineRegion
from catalog.domain.model import BoundingBox

NAMESPACE = "http://ns.mediasight.org/xmp/1.0/"
PREFIX = "msight"
DEFAULT_LANG = 'lang="x-default"'
REGION_TYPE = "http://cv.iptc.org/newscodes/imageregiontype/"
# IPTC Digital Source Type of a value a trained model made (the vocabulary's term for trained algorithms).
MACHINE_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_REGION_TYPES = {"face": "human", "person": "human", "human": "human", "text": "text"}
IIM_KEYWORD_BYTES = 64  # IPTC-IIM's limit per keyword


def _alt(text: str) -> dict[str, str]:
    return {DEFAULT_LANG: text}


def _gps(value: float, positive: str, negative: str) -> str:
    """XMP's GPS coordinate text: degrees,minutes.fraction + hemisphere (e.g. 29,33.0000N)."""
    hemisphere = positive if value >= 0 else negative
    degrees = int(abs(value))
    minutes = (abs(value) - degrees) * 60
    return f"{degrees},{minutes:.6f}{hemisphere}"


def _region(
    out: dict[str, Any],
    n: int,
    box: BoundingBox,
    name: str,
    kind: str,
    machine: MachineRegion | None,
) -> None:
    base = f"Xmp.iptcExt.ImageRegion[{n}]"
    out[base] = 'type="Struct"'
    out[f"{base}/iptcExt:rId"] = f"r{n}"
    out[f"{base}/iptcExt:RegionBoundary"] = 'type="Struct"'
    b = f"{base}/iptcExt:RegionBoundary/iptcExt:"
    out[b + "rbShape"] = "rectangle"
    out[b + "rbUnit"] = "relative"
    out[b + "rbX"], out[b + "rbY"] = f"{box.left:.6f}", f"{box.top:.6f}"
    out[b + "rbW"], out[b + "rbH"] = f"{box.width:.6f}", f"{box.height:.6f}"
    if name:
        out[f"{base}/iptcExt:Name"] = _alt(name)
    region_type = _REGION_TYPES.get(kind.lower())
    if region_type:
        out[f"{base}/iptcExt:rCtype"] = 'type="Bag"'
        out[f"{base}/iptcExt:rCtype[1]"] = 'type="Struct"'
        out[f"{base}/iptcExt:rCtype[1]/xmp:Identifier"] = [REGION_TYPE + region_type]
    if machine is not None:
        out[f"{base}/iptcExt:DigitalSourceType"] = MACHINE_SOURCE
        out[f"{base}/{PREFIX}:Model"] = machine.model
        out[f"{base}/{PREFIX}:ModelVersion"] = machine.model_version
        out[f"{base}/{PREFIX}:Confidence"] = f"{machine.confidence:.2f}"


def _mwg_faces(out: dict[str, Any], record: ExportRecord, faces: list[tuple[BoundingBox, str]]) -> None:
    if not faces:
        return
    out["Xmp.mwg-rs.Regions"] = 'type="Struct"'
    dims = "Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions"
    out[dims] = 'type="Struct"'
    out[dims + "/stDim:w"], out[dims + "/stDim:h"] = str(record.width), str(record.height)
    out[dims + "/stDim:unit"] = "pixel"
    listing = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
    out[listing] = 'type="Bag"'
    for n, (box, name) in enumerate(faces, start=1):
        item = f"{listing}[{n}]"
        out[item] = 'type="Struct"'
        out[item + "/mwg-rs:Area"] = 'type="Struct"'
        # MWG areas are centred.
        out[item + "/mwg-rs:Area/stArea:x"] = f"{box.left + box.width / 2:.6f}"
        out[item + "/mwg-rs:Area/stArea:y"] = f"{box.top + box.height / 2:.6f}"
        out[item + "/mwg-rs:Area/stArea:w"] = f"{box.width:.6f}"
        out[item + "/mwg-rs:Area/stArea:h"] = f"{box.height:.6f}"
        out[item + "/mwg-rs:Area/stArea:unit"] = "normalized"
        out[item + "/mwg-rs:Type"] = "Face"
        if name:
            out[item + "/mwg-rs:Name"] = name


def xmp_values(record: ExportRecord) -> dict[str, Any]:
    """The XMP properties to write, as pyexiv2 keys (structures flattened the way exiv2 names them)."""
    m = record.embedded
    out: dict[str, Any] = {}
    if m.title:
        out["Xmp.dc.title"] = _alt(m.title)
    if m.caption:
        out["Xmp.dc.description"] = _alt(m.caption)
    if keywords := record.all_keywords():
        out["Xmp.dc.subject"] = list(keywords)
    paths = ["|".join(p) for p in m.hierarchy]
    paths += ["|".join((*reversed(k.parents), k.name)) for k in record.keywords if k.parents]
    if paths:
        out["Xmp.lr.hierarchicalSubject"] = list(dict.fromkeys(paths))
    if m.creators:
        out["Xmp.dc.creator"] = list(m.creators)
    if m.credit:
        out["Xmp.photoshop.Credit"] = m.credit
    if m.copyright:
        out["Xmp.dc.rights"] = _alt(m.copyright)
    if m.usage_terms:
        out["Xmp.xmpRights.UsageTerms"] = _alt(m.usage_terms)
    if m.city:
        out["Xmp.photoshop.City"] = m.city
    if m.country:
        out["Xmp.photoshop.Country"] = m.country
    if m.gps is not None:
        out["Xmp.exif.GPSLatitude"] = _gps(m.gps.latitude, "N", "S")
        out["Xmp.exif.GPSLongitude"] = _gps(m.gps.longitude, "E", "W")
    if m.captured_text:
        out["Xmp.photoshop.DateCreated"] = m.captured_text
    if persons := record.persons():
        out["Xmp.iptcExt.PersonInImage"] = list(persons)
    if by_models := [k for k in record.keywords if k.machine]:  # a reviewer's verdict is no machine keyword
        out[f"Xmp.{PREFIX}.MachineKeywords"] = [k.name for k in by_models]
    models = {f"{k.model} {k.model_version}" for k in by_models if k.model}
    models |= {f"{r.model} {r.model_version}" for r in record.regions}
    if models:
        out[f"Xmp.{PREFIX}.Models"] = sorted(models)
    regions: list[tuple[ImageRegion | MachineRegion, MachineRegion | None]] = [(r, None) for r in m.regions]
    # A face the file already drew (same person, same place) is not written twice; a detected one named
    # after it is, as the machine's (IPTC's DigitalSourceType tells them apart) ...
    drawn = {(r.name, r.box) for r in m.regions}
    regions += [(r, r) for r in record.regions if (r.name, r.box) not in drawn]
    if regions:
        out["Xmp.iptcExt.ImageRegion"] = 'type="Bag"'
        for n, (region, machine) in enumerate(regions, start=1):
            _region(out, n, region.box, region.name, region.kind, machine)
    # ... but MWG face tags, which photo tools show as people, hold each person once (Lightroom showed
    # Grace Hopper twice).
    faces = [
        (r.box, r.name)
        for r, machine in regions
        if r.kind.lower() in ("face", "human") and not (machine and _drawn_already(machine, m.regions))
    ]
    _mwg_faces(out, record, faces)
    return out


def _drawn_already(found: MachineRegion, drawn: Sequence[ImageRegion]) -> bool:
    """A face the file already drew, of the same person at about the same place, is not written twice: a
    detected face named after the file's region (embedded.name_faces) lies mostly inside it, its box a
    detector's, not the cataloguer's (Lightroom showed Grace Hopper twice)."""
    same_name = [r for r in drawn if r.name and r.name.casefold() == found.name.casefold()]
    return found.box in (r.box for r in same_name) or bool(name_faces([found.box], same_name))


def _iim_keyword(word: str) -> str:
    data = word.encode()[:IIM_KEYWORD_BYTES]
    return data.decode(errors="ignore")


def iim_values(record: ExportRecord) -> dict[str, Any]:
    """IPTC-IIM for readers that know no XMP (embedded copies only; UTF-8 declared)."""
    m = record.embedded
    out: dict[str, Any] = {}
    if keywords := record.all_keywords():
        out["Iptc.Application2.Keywords"] = [_iim_keyword(k) for k in keywords]
    fields = (
        ("Iptc.Application2.ObjectName", m.title[:64]),
        ("Iptc.Application2.Caption", m.caption[:2000]),
        ("Iptc.Application2.Credit", m.credit[:32]),
        ("Iptc.Application2.Copyright", m.copyright[:128]),
        ("Iptc.Application2.City", m.city[:32]),
        ("Iptc.Application2.CountryName", m.country[:64]),
    )
    out.update({k: v for k, v in fields if v})
    if m.creators:
        out["Iptc.Application2.Byline"] = [c[:32] for c in m.creators]
    out.update(_iim_date(m))
    if out:
        out["Iptc.Envelope.CharacterSet"] = "\x1b%G"
    return out


def _iim_date(m: EmbeddedMetadata) -> dict[str, str]:
    """IIM's DateCreated, and TimeCreated with the zone it was recorded at (+00:00 for none, as IIM needs
    one); none for a date given only to the year or month (IIM has no such date)."""
    taken = m.captured_at
    if taken is None or m.captured_partial:
        return {}
    zone = taken.strftime("%z") or "+0000"
    return {
        "Iptc.Application2.DateCreated": taken.strftime("%Y-%m-%d"),
        "Iptc.Application2.TimeCreated": f"{taken:%H:%M:%S}{zone[:3]}:{zone[3:5]}",
    }
