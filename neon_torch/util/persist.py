"""neon's ``neon.util.persist``: ``save_obj`` / ``load_obj``, made safe.

* ``load_obj(path_or_file)`` reads a neon_torch ``.prm`` (safetensors) or a pickle written by
  neon (plain or gzipped, recognised by its bytes) through the restricted unpickler of
  :mod:`neon_torch.serialization.legacy_pickle`: only numpy arrays and plain containers load,
  nothing is executed. It returns the stored tree as written (no normalisation).
* ``save_obj(obj, save_path)`` writes a tree of dicts, lists, tuples, strings, byte strings,
  numbers, None, numeric arrays and structured arrays whose fields hold numbers or strings
  (h5py compound datasets) as a neon_torch ``.prm`` (neon pickled it; a pickle is what this module
  refuses to trust, so it never writes one). As in neon, ``~`` and ``$VARS`` are expanded,
  parent directories created, and an empty path does nothing. The write is atomic.
"""

from __future__ import annotations

import gzip
import io
import os
from typing import Any

from ..errors import PrmFormatError
from ..serialization import prm_file
from ..serialization.files import read_raw
from ..serialization.legacy_pickle import load_pickle

__all__ = [
    "ensure_dirs_exist",
    "get_cache_dir",
    "get_data_cache_dir",
    "get_data_cache_or_nothing",
    "load_obj",
    "save_obj",
]


def _expand(path: str | os.PathLike[str]) -> str:
    return os.path.expandvars(os.path.expanduser(os.fspath(path)))


def save_obj(obj: Any, save_path: str | os.PathLike[str] | None) -> None:
    """Write ``obj`` to ``save_path`` as a neon_torch ``.prm`` (see the module docstring)."""
    if save_path is None or os.fspath(save_path) == "":
        return
    prm_file.write_prm(_expand(save_path), obj)


def load_obj(load_path: Any) -> Any:
    """The tree stored in a path or an open binary file (see the module docstring).

    Raises:
        PrmFormatError: empty, truncated, corrupted or unknown content.
        UnsafePickleError: a pickle that asks for anything outside the allow-list.
    """
    if isinstance(load_path, (str, os.PathLike)):
        return read_raw(_expand(load_path))[1]
    source = getattr(load_path, "name", "<file object>")
    head = load_path.read(2)
    rest = load_path
    if head[:2] == b"\x1f\x8b":
        rest = gzip.GzipFile(fileobj=_Prefixed(head, load_path))
    elif head[:1] != b"\x80":
        raise PrmFormatError(
            f"{source}: an open file must hold a neon pickle (optionally gzipped); pass the "
            "path to read a neon_torch .prm."
        )
    else:
        rest = _Prefixed(head, load_path)
    return load_pickle(rest, str(source))


class _Prefixed(io.RawIOBase):
    """A read-only stream: ``prefix`` then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: Any) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


def ensure_dirs_exist(path: str) -> str:
    """Create the directories leading to ``path`` (a file or directory path) and return
    ``path`` unchanged (neon's helper)."""
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return path


def _cache_dir(root: str, subdir: str | list[str] | None) -> str:
    if subdir:
        root = os.path.join(root, *(subdir if isinstance(subdir, list) else [subdir]))
    os.makedirs(root, exist_ok=True)
    return root


def get_cache_dir(subdir: str | list[str] | None = None) -> str:
    """neon's cache directory (``$NEON_CACHE_DIR``, else the user's cache directory
    ``$XDG_CACHE_HOME/neon`` or ``~/.cache/neon``) joined with ``subdir``, created if absent."""
    root = os.environ.get("NEON_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "neon")
    return _cache_dir(root, subdir)


def get_data_cache_dir(data_dir: str, subdir: str | list[str] | None = None) -> str:
    """Where cached data files go: ``$NEON_DATA_CACHE_DIR`` if set, else ``data_dir``, joined
    with ``subdir`` and created if absent (neon's rule)."""
    return _cache_dir(os.environ.get("NEON_DATA_CACHE_DIR") or data_dir, subdir)


def get_data_cache_or_nothing(subdir: str | None = None) -> str:
    """``$NEON_DATA_CACHE_DIR/subdir`` (created) when that variable is set, else ``''``, which
    neon's scripts read as "no cache"."""
    root = os.environ.get("NEON_DATA_CACHE_DIR")
    if root is None:
        return ""
    return ensure_dirs_exist(os.path.join(root, subdir or ""))
