"""The neon_torch ``.prm`` file: one safetensors file holding a neon description.

Layout (see ``docs/prm_format.md``): the standard safetensors header (8-byte little-endian
length, JSON header, raw little-endian tensor bytes). Every array of the description is a
tensor in **neon layout** under its path key; the header's ``__metadata__`` holds

* ``format``: ``"neon_torch.prm"``;
* ``format_version``: an integer, written as its decimal string (safetensors metadata values
  are strings); readers refuse versions above :data:`FORMAT_VERSION`;
* ``neon_torch_version``: the writer's version;
* ``description``: the deterministic JSON of the description with ``{"__tensor__": key}``
  references (:mod:`._codec`);
* ``checksum`` (format version 2): ``wsum64crc32:<8 hex digits>`` (see :func:`checksum`) of the
  description, the canonical
  tensor index and the tensor bytes.

Writing streams each array straight to the file (no second copy of the weights), through
:func:`~._atomic.atomic_write`. Reading checks the header completely (every tensor's byte count
against its shape and dtype, the tensors tiling the data region) before mapping the file, then
verifies the checksum (unless told not to) and takes every tensor as a copy-on-write view of the
mapping, so arrays are not copied again until they are put into a model.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
import zlib
from typing import Any, BinaryIO

import numpy as np

from .._version import __version__
from ..errors import PrmFormatError
from . import _codec
from ._atomic import atomic_write
from ._input import open_regular
from .legacy_pickle import CONTAINERS_PER_BYTE, MIN_CONTAINERS

__all__ = ["FORMAT", "FORMAT_VERSION", "read_prm", "read_prm_header", "write_prm"]

FORMAT = "neon_torch.prm"
FORMAT_VERSION = 2
"""1: the original format; 2: adds the ``checksum`` metadata (required from version 2)."""
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit

_DTYPES: dict[np.dtype, str] = {
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
_NUMPY = {name: dtype.newbyteorder("<") for dtype, name in _DTYPES.items()}


def _little_endian(array: np.ndarray, key: str) -> np.ndarray:
    dtype = array.dtype.newbyteorder("=") if array.dtype.byteorder in "<>" else array.dtype
    if dtype not in _DTYPES:
        raise PrmFormatError(
            f"{key}: arrays of dtype {array.dtype} cannot be stored; use a float, int, uint or "
            "bool dtype."
        )
    return np.ascontiguousarray(array, dtype=dtype.newbyteorder("<"))


def _index_bytes(entries: dict[str, Any]) -> bytes:
    """The canonical text of the tensor index (what the checksum covers besides the data)."""
    return json.dumps(entries, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_prm(path: str | os.PathLike[str], tree: Any) -> None:
    """Write the description ``tree`` (numpy arrays inside) as a neon_torch ``.prm``, atomically.

    Raises:
        PrmFormatError: the tree holds a value a description cannot hold.
    """
    json_tree, arrays = _codec.encode(tree)
    description = _codec.dumps(json_tree)
    ordered = [(key, _little_endian(arrays[key], key)) for key in sorted(arrays)]
    entries: dict[str, Any] = {}
    offset = 0
    for key, array in ordered:
        entries[key] = {
            "dtype": _DTYPES[array.dtype.newbyteorder("=")],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    digest = checksum(description, entries, [_bytes_of(array) for _, array in ordered])
    header: dict[str, Any] = {
        "__metadata__": {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "neon_torch_version": __version__,
            "description": description,
            "checksum": digest,
        },
        **entries,
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # tensor data starts 8-byte aligned
    with atomic_write(path) as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, array in ordered:
            if array.nbytes:
                f.write(_bytes_of(array))


def _bytes_of(array: np.ndarray) -> memoryview:
    return array.reshape(-1).data.cast("B")


class _Header:
    """A checked header: metadata, tensor entries and where the data region starts."""

    def __init__(self, meta: dict[str, str], entries: dict[str, Any], start: int) -> None:
        self.meta = meta
        self.entries = entries
        self.start = start


def _bad(source: str, message: str) -> PrmFormatError:
    return PrmFormatError(f"{source}: {message}")


def _read_header(f: BinaryIO, size: int, source: str) -> _Header:
    head = f.read(8)
    if len(head) < 8:
        raise _bad(source, f"{size} bytes, too short to be a .prm file.")
    (length,) = struct.unpack("<Q", head)
    if length > _MAX_HEADER or length + 8 > size:
        raise _bad(
            source,
            f"the safetensors header claims {length} bytes but the file has {size}; the file "
            "is truncated or corrupted.",
        )
    try:
        header = json.loads(f.read(length))
    except RecursionError:
        raise _bad(source, "the safetensors header is nested too deeply.") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise _bad(source, f"the safetensors header is not valid JSON ({err}).") from None
    if not isinstance(header, dict):
        raise _bad(source, "the safetensors header is not a JSON object.")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise _bad(
            source,
            f"a safetensors file, but not a neon_torch .prm (metadata format {got!r:.60}, "
            f"expected {FORMAT!r}). Plain safetensors weights load with "
            "safetensors.torch.load_file.",
        )
    if not all(isinstance(v, str) for v in meta.values()):
        raise _bad(source, "the header's __metadata__ holds values that are not strings.")
    version_text = meta.get("format_version", "")
    if not (version_text.isdigit() and len(version_text) < 6):
        raise _bad(source, f"format_version {version_text!r:.40} is not an integer.")
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise _bad(
            source,
            f"written in .prm format_version {version} by neon_torch "
            f"{meta.get('neon_torch_version', '?')!s:.40}; this neon_torch ({__version__}) "
            f"reads versions up to {FORMAT_VERSION}. Upgrade neon_torch to read it.",
        )
    if version >= 2 and "checksum" not in meta:
        raise _bad(source, f"format_version {version} requires a checksum; the file has none.")
    _check_entries(header, size - 8 - length, source)
    return _Header(meta, header, 8 + length)


def _check_entries(entries: dict[str, Any], data_size: int, source: str) -> None:
    """Every tensor entry well-formed, its byte count what its shape and dtype need, and the
    entries tiling the data region exactly (as safetensors requires)."""
    spans = []
    for key, entry in entries.items():
        where = f"tensor {key!r:.80}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise _bad(source, f"{where}: expected {{dtype, shape, data_offsets}}.")
        dtype = _NUMPY.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        shape, offsets = entry["shape"], entry["data_offsets"]
        if dtype is None:
            raise _bad(
                source, f"{where}: dtype {entry['dtype']!r:.20} is not one neon_torch writes."
            )
        if not (
            isinstance(shape, list)
            and len(shape) <= 32
            and all(type(n) is int and n >= 0 for n in shape)
        ):
            raise _bad(source, f"{where}: the shape is not a list of non-negative ints.")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(n) is int for n in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise _bad(source, f"{where}: data_offsets lie outside the {data_size} data bytes.")
        need = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != need:
            raise _bad(
                source,
                f"{where}: shape {shape} of {entry['dtype']} needs {need} bytes, the offsets "
                f"give {offsets[1] - offsets[0]}.",
            )
        spans.append((offsets[0], offsets[1]))
    end = 0
    for begin, stop in sorted(spans):
        if begin != end:
            raise _bad(source, "the tensors overlap or leave gaps in the data region.")
        end = stop
    if end != data_size:
        raise _bad(source, f"the tensors cover {end} of the {data_size} data bytes.")


def read_prm_header(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metadata, tensor entries)`` of a neon_torch ``.prm`` after checking format, version
    and that the entries tile the data region.

    Raises:
        PrmFormatError: not a safetensors file, not this format, or a newer ``format_version``.
    """
    source = os.fspath(path)
    f, size = open_regular(source)
    with f:
        header = _read_header(f, size, source)
    return header.meta, header.entries


def read_prm(path: str | os.PathLike[str], verify: bool = True) -> Any:
    """The description stored in a neon_torch ``.prm``, arrays as copy-on-write views of the
    mapped file. ``verify=False`` skips the checksum (every structural check stays).

    Raises:
        PrmFormatError: anything wrong with the file (see :func:`read_prm_header`), a checksum
            that disagrees, a missing, unreferenced or twice-referenced tensor.
    """
    source = os.fspath(path)
    f, size = open_regular(source)
    with f:
        header = _read_header(f, size, source)
        description = header.meta.get("description")
        if description is None:
            raise _bad(source, "the header has no description.")
        containers = description.count("[") + description.count("{")
        if containers > MIN_CONTAINERS + len(description) * CONTAINERS_PER_BYTE:
            raise _bad(
                source,
                f"the description opens {containers} lists and objects in {len(description)} "
                f"characters; at most one per {round(1 / CONTAINERS_PER_BYTE)} (beyond "
                f"{MIN_CONTAINERS}) is accepted.",
            )
        try:
            json_tree = json.loads(description)
        except RecursionError:
            raise _bad(source, "the description is nested too deeply.") from None
        except ValueError as err:
            raise _bad(source, f"the description is not valid JSON ({err}).") from None
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size > header.start else b""
    view = memoryview(data)[header.start :] if data else memoryview(b"")
    if verify and "checksum" in header.meta:
        _verify(header, view, source)
    used: set[str] = set()

    def tensor(key: Any) -> np.ndarray:
        entry = header.entries.get(key) if isinstance(key, str) else None
        if entry is None:
            raise _bad(
                source,
                f"the description refers to tensor {key!r:.80}, which the file does not contain.",
            )
        if key in used:
            raise _bad(source, f"the description refers to tensor {key!r:.80} twice.")
        used.add(key)
        begin, end = entry["data_offsets"]
        dtype = _NUMPY[entry["dtype"]]
        return np.frombuffer(view[begin:end], dtype=dtype).reshape(entry["shape"])

    tree = _codec.decode(json_tree, tensor, source)
    unused = sorted(set(header.entries) - used)
    if unused:
        raise _bad(source, f"tensor {unused[0]!r:.80} is not referenced by the description.")
    return tree


_BLOCK_WORDS = 4096
# odd weights (odd numbers times an odd constant): invertible modulo 2**64, all distinct
_WEIGHTS = np.arange(1, 2 * _BLOCK_WORDS, 2, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def checksum(description: str, entries: dict[str, Any], tensors: list[memoryview]) -> str:
    """The ``checksum`` metadata: ``wsum64crc32:<crc>``.

    Each tensor's bytes (in data order) are read as little-endian 64-bit words, in blocks of
    4096 words (32 KiB, the last one partial); each block gives the sum of word × weight modulo
    2**64, where the j-th weight is (2j + 1) × 0x9E3779B97F4A7C15. The tensor's trailing bytes
    (fewer than 8) and its length follow. A CRC-32 runs over the description text, the
    canonical tensor index and, per tensor, those block sums, trailing bytes and length. The
    weights are odd, so changing any one word changes its block's sum, and distinct, so
    swapping two words does too (but for a chance of about 2**-50); the CRC sees any change of a
    sum or of the order of blocks. The weighted sums run at several GB/s, so checking costs
    about one extra read of the tensors.
    """
    text = description.encode("utf-8", "surrogatepass")
    crc = zlib.crc32(_index_bytes(entries), zlib.crc32(text))
    for data in tensors:
        words = len(data) // 8
        body = np.frombuffer(data, dtype="<u8", count=words)
        full = words - words % _BLOCK_WORDS
        sums = np.empty(full // _BLOCK_WORDS + 1, dtype="<u8")
        blocks = body[:full].reshape(-1, _BLOCK_WORDS)
        sums[:-1] = np.einsum("ij,j->i", blocks, _WEIGHTS, dtype=np.uint64)
        tail = body[full:]
        sums[-1] = np.einsum("j,j->", tail, _WEIGHTS[: len(tail)], dtype=np.uint64)
        crc = zlib.crc32(sums.tobytes(), crc)
        crc = zlib.crc32(bytes(data[words * 8 :]) + struct.pack("<Q", len(data)), crc)
    return f"wsum64crc32:{crc:08x}"


def _verify(header: _Header, data: memoryview, source: str) -> None:
    expected = header.meta["checksum"]
    spans = sorted((e["data_offsets"][0], e["data_offsets"][1]) for e in header.entries.values())
    got = checksum(header.meta["description"], header.entries, [data[a:b] for a, b in spans])
    if expected != got:
        raise _bad(
            source,
            f"checksum mismatch (the file records {expected!r:.40}, its content gives "
            f"{got!r}); the file was corrupted after it was written.",
        )
