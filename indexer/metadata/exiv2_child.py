"""The child process that runs exiv2 (through pyexiv2) on untrusted files, so that a file which makes the
C++ library crash, hang or eat memory costs a restarted child, never the worker.

Protocol over stdin/stdout, one request at a time, each message two frames (a 4-byte big-endian length,
then that many bytes): a JSON header and a file. Requests: {"op": "read"} + the file, answered by
{"exif", "iptc", "xmp"} + nothing; {"op": "write", "xmp", "iptc", "namespaces"} + the file, answered by
{} + the file with that metadata written. A failure answers {"error": "..."}. EOF on stdin ends the child.
"""

from __future__ import annotations

import contextlib
import json
import re
import resource
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
MEMORY_LIMIT = 2 << 30  # bytes of address space the child may map


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: BinaryIO) -> bytes | None:
    size = _read_exact(stream, HEADER.size)
    return None if size is None else _read_exact(stream, HEADER.unpack(size)[0])


def read_blocks(data: bytes) -> dict[str, Any]:
    import pyexiv2

    # Errors only: pyexiv2 raises for what exiv2 logs as an error, and raises nothing once muted (4).
    pyexiv2.set_log_level(3)
    image = pyexiv2.ImageData(data)
    try:
        out: dict[str, Any] = {}
        for name, read in (("exif", image.read_exif), ("iptc", image.read_iptc), ("xmp", image.read_xmp)):
            try:
                out[name] = read(encoding="utf-8")
            except UnicodeDecodeError:  # IPTC-IIM without a declared character set is often Latin-1
                out[name] = read(encoding="latin-1")
        return out
    finally:
        image.close()


def _top(key: str) -> str:
    """The top-level property of an exiv2 key (Xmp.iptcExt.ImageRegion[1]/... → Xmp.iptcExt.ImageRegion)."""
    return re.split(r"[\[/]", key, maxsplit=1)[0]


def write_blocks(data: bytes, header: dict[str, Any]) -> bytes:
    import pyexiv2

    pyexiv2.set_log_level(3)
    for uri, prefix in header.get("namespaces", ()):
        pyexiv2.registerNs(uri, prefix)  # registering again is harmless
    image = pyexiv2.ImageData(data)
    try:
        if header.get("iptc"):
            image.modify_iptc(header["iptc"])
        if xmp := header.get("xmp"):
            # The properties written replace the file's own, structures and all: a struct's items left
            # behind without their parent make exiv2 refuse the packet.
            tops = {_top(k) for k in xmp}
            old = [k for k in image.read_xmp() if _top(k) in tops]
            if old:
                image.modify_xmp(dict.fromkeys(old))
            image.modify_xmp(xmp)
        return bytes(image.get_bytes())
    finally:
        image.close()


def answer(header: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        if header.get("op") == "write":
            return {}, write_blocks(data, header)
        return read_blocks(data), b""
    except MemoryError:
        return {"error": "the metadata needs more memory than a file may use"}, b""
    except Exception as exc:  # exiv2 reports unreadable and unknown files as RuntimeError
        return {"error": f"{type(exc).__name__}: {exc}"}, b""


def main() -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header, data = _read_frame(stdin), _read_frame(stdin)
        if header is None or data is None:
            return
        reply, payload = answer(json.loads(header), data)
        text = json.dumps(reply, ensure_ascii=False, default=str).encode()
        stdout.write(HEADER.pack(len(text)) + text + HEADER.pack(len(payload)) + payload)
        stdout.flush()


if __name__ == "__main__":
    main()
