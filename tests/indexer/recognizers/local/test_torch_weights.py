"""The torch-free state-dict reader: the real EfficientNet weights, and files that try to run code."""

from __future__ import annotations

import os
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from indexer.recognizers.local.efficientnet_onnx import default_weights_path
from indexer.recognizers.local.torch_weights import WeightsFormatError, load_state_dict


def test_weights_read_without_torch() -> None:
    weights = load_state_dict(default_weights_path())
    assert len(weights) == 296
    assert sum(w.size for w in weights.values()) == 4_694_073
    assert weights["_fc.weight"].shape == (1000, 1280)
    assert "torch" not in sys.modules


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def _legacy_checkpoint(payload: object) -> bytes:
    sys_info = {
        "protocol_version": 1001,
        "little_endian": True,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    parts = [0x1950A86A20F9469CFC6C, 1001, sys_info]
    return b"".join(pickle.dumps(p, protocol=2) for p in parts) + pickle.dumps(payload, protocol=2)


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    legacy = tmp_path / "evil.pth"
    legacy.write_bytes(_legacy_checkpoint({"w": _Exploit(marker)}))
    with pytest.raises(WeightsFormatError, match=r"posix\.system|os\.system"):
        load_state_dict(legacy)
    zipped = tmp_path / "evil_zip.pth"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"w": _Exploit(marker)}, protocol=2))
    with pytest.raises(WeightsFormatError):
        load_state_dict(zipped)
    assert not marker.exists()


def test_restricted_unpickler_checks_tensor_bounds(tmp_path: Path) -> None:
    # a storage of 4 floats, and a tensor claiming 100 of them: as_strided must never see it
    good = load_state_dict(default_weights_path())
    assert good  # sanity: the real file loads
    pkl = (
        b"\x80\x02}q\x00X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n"
        b"((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04Ntq\x01Q"
        b"K\x00K\x64\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rtq\x02Rq\x03s."
    )
    head = b"".join(
        pickle.dumps(p, protocol=2) for p in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True})
    )
    keys = pickle.dumps(["0"], protocol=2)
    storage = struct.pack("<q", 4) + np.zeros(4, np.float32).tobytes()
    path = tmp_path / "oob.pth"
    path.write_bytes(head + pkl + keys + storage)
    with pytest.raises(WeightsFormatError, match="out of bounds"):
        load_state_dict(path)
