"""The neon_torch ``.prm`` file: one safetensors file holding a neon description.

Layout (see ``docs/prm_format.md``): the standard safetensors header (8-byte little-endian
length, JSON header, raw little-endian tensor bytes). Every array of the description is a
tensor in **neon layout** under its path key; the header's ``__metadata__`` holds

* ``format``: ``"neon_torch.prm"``;
* ``format_version``: an integer, written as its decimal string (safetensors metadata values
  are strings); readers refuse versions above :data:`FORMAT_VERSION`;
* ``neon_torch_version``: the writer's version;
* ``description``: the deterministic JSON of the description with ``{"__tensor__": key}``
  references (:mod:`._codec`).

Writing streams each array straight to the file (no second copy of the weights), through
:func:`~._atomic.atomic_write`. Reading parses the header, then takes every tensor from
safetensors' memory-mapped ``safe_open``, so arrays are not copied again until they are put
into a model.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from .._version import __version__
from ..errors import PrmFormatError
from . import _codec
from ._atomic import atomic_write

__all__ = ["FORMAT", "FORMAT_VERSION", "read_prm", "read_prm_header", "write_prm"]

FORMAT = "neon_torch.prm"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit

_DTYPES = {
    np.dtype(np.float64): "F64",
    np.dtype(np.float32): "F32",
    np.dtype(np.float16): "F16",
    np.dtype(np.int64): "I64",
    np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint64): "U64",
    np.dtype(np.uint32): "U32",
    np.dtype(np.uint16): "U16",
    np.dtype(np.uint8): "U8",
    np.dtype(np.bool_): "BOOL",
}


def _little_endian(array: np.ndarray, key: str) -> np.ndarray:
    dtype = array.dtype.newbyteorder("=") if array.dtype.byteorder in "<>" else array.dtype
    if dtype not in _DTYPES:
        raise PrmFormatError(
            f"{key}: arrays of dtype {array.dtype} cannot be stored; use a float, int, uint or "
            "bool dtype."
        )
    return np.ascontiguousarray(array, dtype=dtype.newbyteorder("<"))


def write_prm(path: str | os.PathLike[str], tree: Any) -> None:
    """Write the description ``tree`` (numpy arrays inside) as a neon_torch ``.prm``, atomically.

    Raises:
        PrmFormatError: the tree holds a value a description cannot hold.
    """
    json_tree, arrays = _codec.encode(tree)
    header: dict[str, Any] = {
        "__metadata__": {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "neon_torch_version": __version__,
            "description": _codec.dumps(json_tree),
        }
    }
    ordered = [(key, _little_endian(arrays[key], key)) for key in sorted(arrays)]
    offset = 0
    for key, array in ordered:
        header[key] = {
            "dtype": _DTYPES[array.dtype.newbyteorder("=")],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # tensor data starts 8-byte aligned
    with atomic_write(path) as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, array in ordered:
            if array.nbytes:
                f.write(memoryview(array.reshape(-1)).cast("B"))


def read_prm_header(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metadata, tensor entries)`` of a neon_torch ``.prm`` after checking format and version.

    Raises:
        PrmFormatError: not a safetensors file, not this format, or a newer ``format_version``.
    """
    source = str(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise PrmFormatError(f"{source}: {size} bytes, too short to be a .prm file.")
        (length,) = struct.unpack("<Q", head)
        if length > _MAX_HEADER or length + 8 > size:
            raise PrmFormatError(
                f"{source}: the safetensors header claims {length} bytes but the file has "
                f"{size}; the file is truncated or corrupted."
            )
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as err:
        raise PrmFormatError(
            f"{source}: the safetensors header is not valid JSON ({err})."
        ) from None
    if not isinstance(header, dict):
        raise PrmFormatError(f"{source}: the safetensors header is not a JSON object.")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise PrmFormatError(
            f"{source}: a safetensors file, but not a neon_torch .prm (metadata format "
            f"{got!r}, expected {FORMAT!r}). Plain safetensors weights load with "
            "safetensors.torch.load_file."
        )
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise PrmFormatError(
            f"{source}: format_version {meta.get('format_version')!r} is not an integer."
        ) from None
    if version > FORMAT_VERSION:
        raise PrmFormatError(
            f"{source}: written in .prm format_version {version} by neon_torch "
            f"{meta.get('neon_torch_version', '?')}; this neon_torch ({__version__}) reads "
            f"versions up to {FORMAT_VERSION}. Upgrade neon_torch to read it."
        )
    return meta, header


def read_prm(path: str | os.PathLike[str]) -> Any:
    """The description stored in a neon_torch ``.prm``, arrays as numpy views of the mapped file.

    Raises:
        PrmFormatError: anything wrong with the file (see :func:`read_prm_header`), a missing or
            malformed tensor.
    """
    source = str(path)
    meta, _ = read_prm_header(path)
    try:
        json_tree = json.loads(meta["description"])
    except (KeyError, TypeError, ValueError) as err:
        raise PrmFormatError(f"{source}: missing or invalid description ({err}).") from None
    try:
        with safe_open(str(Path(path)), framework="pt") as f:
            keys = set(f.keys())

            def tensor(key: str) -> np.ndarray:
                if key not in keys:
                    raise PrmFormatError(
                        f"{source}: the description refers to tensor {key!r}, which the file "
                        "does not contain."
                    )
                return f.get_tensor(key).numpy()

            return _codec.decode(json_tree, tensor)
    except SafetensorError as err:
        raise PrmFormatError(f"{source}: corrupted safetensors data ({err}).") from None
    except PrmFormatError as err:
        if str(err).startswith(source):
            raise
        raise PrmFormatError(f"{source}: {err}") from None
