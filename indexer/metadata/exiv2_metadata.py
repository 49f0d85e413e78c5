"""Reading a file's embedded metadata and writing exports, through the exiv2 sandbox (blocking calls)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from catalog.domain.embedded import EmbeddedMetadata
from catalog.domain.export_record import ExportRecord
from indexer.metadata.exiv2_fields import from_exiv2, merge
from indexer.metadata.exiv2_sandbox import Exiv2Sandbox, MetadataError
from indexer.metadata.xmp_mapping import NAMESPACE, PREFIX, iim_values, xmp_values

# An empty XMP packet: exiv2 writes a sidecar by filling one.
EMPTY_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


class Exiv2Metadata:
    def __init__(self, sandbox: Exiv2Sandbox) -> None:
        self._sandbox = sandbox

    def read(
        self, data: bytes, *, sidecar: bytes | None = None, width: int = 0, height: int = 0
    ) -> EmbeddedMetadata:
        """The file's metadata, with a sidecar's fields over it (MetadataError if the file's is unreadable;
        an unreadable sidecar leaves the file's, with the sidecar's problem said)."""
        blocks = self._blocks(data, "the file")
        meta = from_exiv2(blocks["exif"], blocks["iptc"], blocks["xmp"], width=width, height=height)
        if sidecar is not None:
            try:
                side = self._blocks(sidecar, "the .xmp sidecar")
            except MetadataError as exc:  # a broken sidecar beside the file must not hide what the file says
                return replace(meta, problem=f"{exc}; the file's own metadata is shown")
            over = from_exiv2(side["exif"], {}, side["xmp"], width=width, height=height, sidecar=True)
            meta = merge(meta, over)
        return meta

    def close(self) -> None:
        self._sandbox.close()

    def _blocks(self, data: bytes, what: str) -> dict[str, Any]:
        reply, _ = self._sandbox.request({"op": "read"}, data, what)
        return {k: reply.get(k) or {} for k in ("exif", "iptc", "xmp")}

    def sidecar(self, record: ExportRecord) -> bytes:
        """An XMP sidecar (.xmp) holding the record."""
        return self._write(EMPTY_PACKET, xmp_values(record), {}, "the sidecar")

    def embed(self, original: bytes, record: ExportRecord) -> bytes:
        """A copy of the original with the record written into it (XMP and IPTC-IIM); the original's own
        bytes are not touched."""
        return self._write(original, xmp_values(record), iim_values(record), "the copy")

    def _write(self, data: bytes, xmp: dict[str, Any], iptc: dict[str, Any], what: str) -> bytes:
        header = {"op": "write", "xmp": xmp, "iptc": iptc, "namespaces": [[NAMESPACE, PREFIX]]}
        return self._sandbox.request(header, data, what)[1]
