"""A restricted unpickler for the ``.prm`` pickles written by neon itself.

neon's ``save_params`` writes ``pickle.dump(description, f, 2)``: plain dicts, lists, tuples,
strings and numbers, plus numpy arrays (and sometimes numpy scalars). Reading such a file with
``pickle.load`` would run whatever a hostile file asks for. This unpickler resolves a global
only when it is one of the few callables that rebuild numpy arrays or plain containers, each
wrapped so that it cannot be steered into building an object array or calling a codec other
than latin-1. Everything else raises :class:`~neon_torch.errors.UnsafePickleError` before
anything runs. There is no switch to turn the check off.

Python 2 pickles (``str`` payloads of numpy arrays) load through ``encoding='latin1'``.
"""

from __future__ import annotations

import codecs
import collections
import pickle
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

try:  # numpy >= 2 keeps the implementation in numpy._core; numpy.core warns when touched
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

from ..errors import PrmFormatError, UnsafePickleError

__all__ = ["load_pickle"]


def _refuse_object(dtype: np.dtype, where: str) -> np.dtype:
    if dtype.hasobject:
        raise UnsafePickleError(
            f"{where}: the pickle asks for a numpy array of dtype {dtype} (Python objects); "
            "neon .prm files hold numeric arrays only, so the file was refused."
        )
    return dtype


def _safe_dtype(obj: Any, align: Any = False, copy: Any = False) -> np.dtype:
    """``numpy.dtype(obj, align, copy)`` for numeric type codes only."""
    if not isinstance(obj, str):
        raise UnsafePickleError(
            f"numpy.dtype called with {type(obj).__name__} {obj!r}; only type codes such as "
            "'f4' are allowed in a neon .prm file."
        )
    return _refuse_object(np.dtype(obj, bool(align), bool(copy)), "numpy.dtype")


def _safe_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct`` restricted to plain ndarrays."""
    if subtype is not np.ndarray:
        raise UnsafePickleError(
            f"numpy _reconstruct of {subtype!r}; only plain numpy.ndarray is allowed."
        )
    if isinstance(dtype, (bytes, str)):
        dtype = _safe_dtype(dtype if isinstance(dtype, str) else dtype.decode("latin1"))
    return _multiarray._reconstruct(np.ndarray, shape, dtype)


def _safe_scalar(dtype: Any, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar`` for numeric dtypes."""
    if not isinstance(dtype, np.dtype):
        raise UnsafePickleError(f"numpy scalar with dtype argument {dtype!r}; expected a dtype.")
    _refuse_object(dtype, "numpy scalar")
    if isinstance(data, str):
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise UnsafePickleError(
            f"numpy scalar of {dtype} with {type(data).__name__} payload; expected "
            f"{dtype.itemsize} bytes."
        )
    return _multiarray.scalar(dtype, data)


def _safe_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes: ``encode(str, 'latin1')``."""
    if not isinstance(text, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise UnsafePickleError(
            f"_codecs.encode({type(text).__name__}, {encoding!r}); only latin-1 encoding of a "
            "str (how pickle protocol 2 stores bytes) is allowed."
        )
    return text.encode("latin1")


_NDARRAY = ("numpy", "ndarray")
_ALLOWED: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy.core.multiarray", "scalar"): _safe_scalar,
    ("numpy._core.multiarray", "scalar"): _safe_scalar,
    _NDARRAY: np.ndarray,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _safe_encode,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "frozenset"): frozenset,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"the pickle references the global {module}.{name}, which is not allowed in a "
                "neon .prm file (only numpy arrays and plain containers are); nothing was run."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("the pickle uses persistent ids, which neon never writes.")


def _check_tree(root: Any) -> None:
    """Reject object arrays that came in through an array's pickled state (defence in depth)."""
    pending = [root]
    while pending:
        obj = pending.pop()
        if isinstance(obj, np.ndarray):
            _refuse_object(obj.dtype, "array")
        elif isinstance(obj, dict):
            pending.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            pending.extend(obj)


def load_pickle(stream: BinaryIO, source: str) -> Any:
    """Unpickle ``stream`` with the allow-list; ``source`` names the file in errors.

    Raises:
        UnsafePickleError: a global outside the allow-list, or an object array.
        PrmFormatError: a truncated or corrupted pickle.
    """
    try:
        obj = _RestrictedUnpickler(stream, encoding="latin1").load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{source}: {err}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        OverflowError,
        MemoryError,
        UnicodeDecodeError,
        RecursionError,
    ) as err:
        raise PrmFormatError(
            f"{source}: not a readable neon .prm pickle (truncated or corrupted): "
            f"{type(err).__name__}: {err}"
        ) from None
    _check_tree(obj)
    return obj
