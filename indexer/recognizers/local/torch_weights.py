"""Read PyTorch weights (.pth state dicts) without installing torch.

A torch checkpoint is a pickle whose globals name torch functions, and unpickling is code execution. This
module reads one with a restricted unpickler that resolves only the handful of globals a plain state dict
needs (OrderedDict, the tensor/parameter rebuild functions, the typed storages) and refuses every other
global: this is a security boundary. Tensors are rebuilt as numpy arrays after checking that each lies
within its storage. Both torch formats are read: the legacy stream and the zip format
(data.pkl + data/<key>).
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class WeightsFormatError(ValueError):
    """The weights file is not a state dict this module can read (or tries something it must not)."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype[Any]


@dataclass
class _Storage:
    dtype: np.dtype[Any]
    numel: int
    data: NDArray[Any] | None = None


@dataclass
class _StorageView:
    root: _Storage
    offset: int
    numel: int


@dataclass
class _PendingTensor:
    storage: _Storage | _StorageView
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> _PendingTensor:
    if not isinstance(storage, _Storage | _StorageView):
        raise WeightsFormatError("tensor without a storage")
    if not (isinstance(offset, int) and isinstance(size, tuple) and isinstance(stride, tuple)):
        raise WeightsFormatError("malformed tensor header")
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in (offset, *size, *stride)):
        raise WeightsFormatError("malformed tensor shape")
    return _PendingTensor(storage, offset, size, stride)


def _rebuild_parameter(data: Any, *_rest: Any) -> Any:
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals a plain state dict needs; storages come back as placeholders."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(np.dtype(_STORAGE_DTYPES[name]))
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> _Storage | _StorageView:
        # legacy: ('storage', type, key, location, numel, view_metadata); zip: the same without the view
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError("unsupported persistent id in a weights file")
        storage_type, key, _location, numel = pid[1:5]
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str) and isinstance(numel, int)):
            raise pickle.UnpicklingError("malformed storage reference")
        if numel < 0:
            raise pickle.UnpicklingError("negative storage size")
        root = self.storages.setdefault(key, _Storage(storage_type.dtype, numel))
        if root.dtype != storage_type.dtype:
            raise pickle.UnpicklingError(f"storage {key} referenced with two dtypes")
        view = pid[5] if len(pid) == 6 else None
        if view is None:
            return root
        _view_key, view_offset, view_numel = view
        if not (
            isinstance(view_offset, int) and isinstance(view_numel, int) and min(view_offset, view_numel) >= 0
        ):
            raise pickle.UnpicklingError("malformed storage view")
        return _StorageView(root, view_offset, view_numel)


def _restricted_load(f: IO[bytes]) -> tuple[Any, dict[str, _Storage]]:
    unpickler = _RestrictedUnpickler(f)
    try:
        return unpickler.load(), unpickler.storages
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as exc:
        raise WeightsFormatError(f"cannot read weights: {exc}") from exc


def _read_legacy(f: IO[bytes]) -> Any:
    magic, _ = _restricted_load(f)
    protocol, _ = _restricted_load(f)
    sys_info, _ = _restricted_load(f)
    if magic != _LEGACY_MAGIC or protocol != _LEGACY_PROTOCOL:
        raise WeightsFormatError("not a torch checkpoint")
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise WeightsFormatError("only little-endian checkpoints are supported")
    obj, storages = _restricted_load(f)
    keys, _ = _restricted_load(f)
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise WeightsFormatError("storage table does not match the tensors")
    for key in keys:
        storage = storages[key]
        header = f.read(8)
        if len(header) != 8 or struct.unpack("<q", header)[0] != storage.numel:
            raise WeightsFormatError(f"storage {key}: bad size header")
        nbytes = storage.numel * storage.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise WeightsFormatError(f"storage {key}: truncated")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return obj


def _read_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise WeightsFormatError("zip checkpoint without a single data.pkl")
        prefix = pkl[0].removesuffix("data.pkl")
        if f"{prefix}byteorder" in names and zf.read(f"{prefix}byteorder") != b"little":
            raise WeightsFormatError("only little-endian checkpoints are supported")
        obj, storages = _restricted_load(io.BytesIO(zf.read(pkl[0])))
        for key, storage in storages.items():
            try:
                raw = zf.read(f"{prefix}data/{key}")
            except KeyError as exc:
                raise WeightsFormatError(f"storage {key} missing") from exc
            if len(raw) != storage.numel * storage.dtype.itemsize:
                raise WeightsFormatError(f"storage {key}: wrong size")
            storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return obj


def _materialize(t: _PendingTensor) -> NDArray[Any]:
    if isinstance(t.storage, _StorageView):
        root, base, limit = t.storage.root, t.storage.offset, t.storage.numel
        if base + limit > root.numel:
            raise WeightsFormatError("storage view out of bounds")
    else:
        root, base, limit = t.storage, 0, t.storage.numel
    if root.data is None:
        raise WeightsFormatError("tensor refers to a storage the file does not hold")
    numel = math.prod(t.size)
    if numel:
        # as_strided reads raw memory: prove the last element lies inside the storage first
        last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride, strict=True))
        if last >= limit:
            raise WeightsFormatError("tensor out of bounds of its storage")
    flat = root.data[base : base + limit]
    item = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[t.offset :] if numel else flat[:0], shape=t.size, strides=tuple(s * item for s in t.stride)
    )
    return np.array(view, copy=True)


def load_state_dict(path: Path) -> dict[str, NDArray[Any]]:
    """Read a torch state dict (name → array) without torch, refusing any non-tensor global."""
    if zipfile.is_zipfile(path):
        obj = _read_zip(path)
    else:
        with open(path, "rb") as f:
            obj = _read_legacy(f)
    if not isinstance(obj, dict):
        raise WeightsFormatError("checkpoint is not a state dict")
    out: dict[str, NDArray[Any]] = {}
    for name, value in obj.items():
        if not (isinstance(name, str) and isinstance(value, _PendingTensor)):
            raise WeightsFormatError(f"unexpected entry {name!r} in state dict")
        out[name] = _materialize(value)
    return out
