"""Read any parameter file: recognised by its first bytes, never by its extension.

* ``1f 8b``: gzip; the decompressed stream must be a pickle (neon's ``load_obj`` reads
  ``*.gz`` files that way);
* ``80 0N``: a pickle (neon writes protocol 2), read by the restricted unpickler;
* an 8-byte little-endian length followed by ``{``: safetensors, read as a neon_torch ``.prm``.

Anything else raises :class:`~neon_torch.errors.PrmFormatError` quoting the bytes seen.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from ..errors import PrmFormatError
from . import legacy, legacy_pickle, prm_file

__all__ = ["LoadedFile", "read_file", "read_raw", "sniff"]


@dataclass
class LoadedFile:
    """A parameter file read into memory.

    ``kind`` is ``'neon_torch'`` (our safetensors format), ``'pickle'`` or ``'pickle+gzip'``
    (files written by neon) or ``'dict'`` (an in-memory description); ``tree`` is the
    normalised description with numpy arrays.
    """

    path: str
    kind: str
    tree: dict[str, Any]

    @property
    def is_legacy(self) -> bool:
        """True for files written by neon (pickles)."""
        return self.kind.startswith("pickle")


def sniff(path: str | os.PathLike[str]) -> str:
    """``'neon_torch'``, ``'pickle'`` or ``'pickle+gzip'`` from the file's first bytes.

    Raises:
        PrmFormatError: empty file or unknown content. FileNotFoundError: no such file.
    """
    source = os.fspath(path)
    with open(source, "rb") as f:
        head = f.read(9)
    if not head:
        raise PrmFormatError(f"{source}: the file is empty (0 bytes); expected a .prm file.")
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(source, "rb") as g:
                inner = g.read(2)
        except (OSError, EOFError, zlib.error) as err:
            raise PrmFormatError(f"{source}: a corrupted gzip file ({err}).") from None
        if inner[:1] != b"\x80":
            raise PrmFormatError(
                f"{source}: a gzip file whose content starts with {inner!r}, not a pickle; "
                "only gzipped neon pickles are read (store neon_torch .prm files unzipped)."
            )
        return "pickle+gzip"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 1:
        return "neon_torch"
    raise PrmFormatError(
        f"{source}: unknown file content (first bytes {head!r}). Expected a neon_torch .prm "
        "(safetensors), a neon pickle (starts with b'\\x80\\x02') or a gzipped neon pickle."
    )


def read_raw(path: str | os.PathLike[str]) -> tuple[str, Any]:
    """``(kind, tree)``: the file's content as written, without normalisation.

    Raises:
        PrmFormatError: empty, truncated, corrupted, unknown or too new a file.
        UnsafePickleError: a pickle asking for anything outside the allow-list.
    """
    source = os.fspath(path)
    kind = sniff(source)
    if kind == "neon_torch":
        return kind, prm_file.read_prm(source)
    if kind == "pickle":
        with open(source, "rb") as f:
            return kind, legacy_pickle.load_pickle(f, source)
    try:
        with gzip.open(source, "rb") as g:
            return kind, legacy_pickle.load_pickle(g, source)  # type: ignore[arg-type]
    except (OSError, EOFError, zlib.error) as err:
        raise PrmFormatError(f"{source}: a corrupted gzip file ({err}).") from None


def read_file(path: str | os.PathLike[str]) -> LoadedFile:
    """Read a parameter file of any kind and normalise it (see :mod:`.legacy`).

    Raises:
        PrmFormatError, UnsafePickleError: as :func:`read_raw`, or not a neon description.
    """
    source = os.fspath(path)
    kind, tree = read_raw(source)
    return LoadedFile(source, kind, legacy.normalize(tree, source))
