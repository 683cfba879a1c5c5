"""Read any parameter file: recognised by its first bytes, never by its extension.

* an 8-byte little-endian length that fits the file, followed by ``{``: safetensors, read as
  a neon_torch ``.prm`` (tested first: such a length may itself begin with ``80 02``);
* ``1f 8b``: gzip; the decompressed stream must be a pickle (neon's ``load_obj`` reads
  ``*.gz`` files that way) and may expand at most :data:`MAX_GZIP_RATIO` times;
* ``80 0N``: a pickle (neon writes protocol 2), read by :mod:`.legacy_pickle`.

Only regular files are opened (a FIFO or a device is refused before reading).

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
from ._input import open_regular

__all__ = ["MAX_GZIP_RATIO", "LoadedFile", "read_file", "read_raw", "sniff"]

MAX_GZIP_RATIO = 64
"""A gzipped pickle may expand to at most this many times its size (or 16 MiB if more)."""

_GZIP_FLOOR = 16 << 20


@dataclass
class LoadedFile:
    """A parameter file read into memory.

    ``kind`` is ``'neon_torch'`` (our safetensors format), ``'pickle'`` or ``'pickle+gzip'``
    (files written by neon) or ``'dict'`` (an in-memory description); ``tree`` is the
    normalised description with numpy arrays. ``compat_before`` is the backend's
    ``compat_mode`` before ``Model(file)`` applied the file's (put back if the load fails).
    """

    path: str
    kind: str
    tree: dict[str, Any]
    compat_before: str | None = None

    @property
    def is_legacy(self) -> bool:
        """True for files written by neon (pickles)."""
        return self.kind.startswith("pickle")


def _kind(head: bytes, size: int, source: str) -> str:
    """The file kind from its first 9 bytes. The safetensors test comes first and needs a
    header length that fits the file, so our files (whose length prefix may begin with the
    bytes ``80 02``) are never taken for pickles."""
    if not head:
        raise PrmFormatError(f"{source}: the file is empty (0 bytes); expected a .prm file.")
    if len(head) == 9 and head[8:9] == b"{" and 2 <= struct.unpack("<Q", head[:8])[0] <= size - 8:
        return "neon_torch"
    if head[:2] == b"\x1f\x8b":
        return "pickle+gzip"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    raise PrmFormatError(
        f"{source}: unknown file content (first bytes {head!r}). Expected a neon_torch .prm "
        "(safetensors), a neon pickle (starts with b'\\x80\\x02') or a gzipped neon pickle."
    )


def sniff(path: str | os.PathLike[str]) -> str:
    """``'neon_torch'``, ``'pickle'`` or ``'pickle+gzip'`` from the file's first bytes.

    Raises:
        PrmFormatError: empty file, unknown content or not a regular file.
        FileNotFoundError: no such file.
    """
    source = os.fspath(path)
    f, size = open_regular(source)
    with f:
        return _kind(f.read(9), size, source)


def read_raw(path: str | os.PathLike[str], verify: bool = True) -> tuple[str, Any]:
    """``(kind, tree)``: the file's content as written, without normalisation.

    ``verify=False`` skips the checksum of a neon_torch file (for speed; every other check
    stays).

    Raises:
        PrmFormatError: empty, truncated, corrupted, unknown or too new a file, or a gzip
            stream that expands beyond :data:`MAX_GZIP_RATIO` times its size.
        UnsafePickleError: a pickle asking for anything neon never writes.
    """
    source = os.fspath(path)
    f, size = open_regular(source)
    with f:
        kind = _kind(f.read(9), size, source)
        if kind == "neon_torch":
            return kind, prm_file.read_prm(source, verify=verify)
        f.seek(0)
        if kind == "pickle":
            return kind, legacy_pickle.load_pickle(f, source, max_bytes=size)
        limit = max(_GZIP_FLOOR, MAX_GZIP_RATIO * size)
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                if g.peek(1)[:1] != b"\x80":
                    raise PrmFormatError(
                        f"{source}: a gzip file whose content is not a pickle; only gzipped "
                        "neon pickles are read (store neon_torch .prm files unzipped)."
                    )
                return kind, legacy_pickle.load_pickle(g, source, max_bytes=limit)  # type: ignore[arg-type]  # gzip file object
        except (OSError, EOFError, zlib.error) as err:
            raise PrmFormatError(f"{source}: a corrupted gzip file ({err}).") from None


def read_file(path: str | os.PathLike[str], verify: bool = True) -> LoadedFile:
    """Read a parameter file of any kind and normalise it (see :mod:`.legacy`).

    Raises:
        PrmFormatError, UnsafePickleError: as :func:`read_raw`, or not a neon description.
    """
    source = os.fspath(path)
    kind, tree = read_raw(source, verify)
    return LoadedFile(source, kind, legacy.normalize(tree, source))
