"""The JSON side of a neon_torch ``.prm``: a description tree with tensor references.

A description is a tree of dicts, lists, tuples, strings, numbers, None and numpy arrays.
:func:`encode` returns a JSON-ready tree in which every array is replaced by
``{"__tensor__": "<key>"}`` plus the arrays by key; :func:`decode` is its inverse. Values JSON
cannot hold are tagged with one-key objects:

* ``{"__tuple__": [...]}`` for tuples (neon keeps ``fshape=(3, 3, 8)`` a tuple);
* ``{"__float__": "nan" | "inf" | "-inf"}`` for non-finite floats;
* ``{"__dict__": [[key, value], ...]}`` for dicts whose keys are not all strings, or that
  would be mistaken for a tag;
* ``{"__bytes__": "<latin-1 text>"}`` for byte strings;
* ``{"__records__": {"dtype": [[name, format], ...], "shape": [...], "fields": {...}}}`` for
  a structured array (an HDF5 compound dataset read with h5py, such as the skip-thought
  example's sentence texts): each numeric field is stored as an array, each object field
  (format ``"O"``) as a flat list of its strings, byte strings, numbers or None.

numpy scalars become plain Python numbers. Keys are the path of the array in the tree, with
``config`` levels left out (``model.layers.0.params.W``, ``model.layers.1.states.0.0``,
``backend.rng_state.1``); the full path is used if that would collide.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..errors import PrmFormatError
from .legacy_pickle import MAX_DEPTH

__all__ = ["decode", "dumps", "encode"]

_TAGS = ("__tensor__", "__tuple__", "__float__", "__dict__", "__bytes__", "__records__")
_PLAIN_ITEMS = (str, bytes, int, float, np.generic, type(None))


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def encode(tree: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """``(json_tree, {key: array})`` for a description tree (see the module docstring)."""
    tensors: dict[str, np.ndarray] = {}

    def key_for(path: list[str]) -> str:
        short = ".".join(p for p in path if p != "config") or "tensor"
        return short if short not in tensors else ".".join(path)

    def walk(value: Any, path: list[str]) -> Any:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            if value.dtype.names is not None:
                return {"__records__": records(value, path)}
            if value.dtype.hasobject:
                raise PrmFormatError(
                    f"{'.'.join(path)}: cannot store an object array (dtype {value.dtype}); "
                    "only numeric arrays (and records of numbers and strings) can be saved."
                )
            key = key_for(path)
            tensors[key] = value
            return {"__tensor__": key}
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
            return value
        if isinstance(value, bytes):
            return {"__bytes__": value.decode("latin-1")}
        if isinstance(value, float):
            return _float(value)
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v, [*path, str(i)]) for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [walk(v, [*path, str(i)]) for i, v in enumerate(value)]
        if isinstance(value, dict):
            plain = all(isinstance(k, str) for k in value) and not (
                len(value) == 1 and next(iter(value)) in _TAGS
            )
            if plain:
                return {k: walk(v, [*path, k]) for k, v in value.items()}
            return {
                "__dict__": [
                    [walk(k, [*path, "key"]), walk(v, [*path, str(k)])] for k, v in value.items()
                ]
            }
        raise PrmFormatError(
            f"{'.'.join(path) or 'the description'}: cannot store a value of type "
            f"{type(value).__name__} ({value!r:.80}); descriptions hold dicts, lists, tuples, "
            "strings, numbers, None and numeric arrays."
        )

    def records(value: np.ndarray, path: list[str]) -> dict[str, Any]:
        formats, fields = [], {}
        for name in value.dtype.names:  # type: ignore[union-attr]
            column = value[name]
            at = [*path, name]
            if column.dtype.hasobject:
                items = column.ravel().tolist()
                if column.dtype != object or not all(isinstance(v, _PLAIN_ITEMS) for v in items):
                    raise PrmFormatError(
                        f"{'.'.join(at)}: a record field of dtype {column.dtype} holding "
                        "other objects than strings, bytes and numbers cannot be saved."
                    )
                formats.append([name, "O"])
                fields[name] = [walk(v, at) for v in items]
            else:
                formats.append([name, column.dtype.str])
                fields[name] = walk(np.ascontiguousarray(column), at)
        return {"dtype": formats, "shape": list(value.shape), "fields": fields}

    return walk(tree, []), tensors


def dumps(json_tree: Any) -> str:
    """Deterministic JSON text: sorted keys, no spaces, no NaN literals."""
    return json.dumps(json_tree, sort_keys=True, separators=(",", ":"), allow_nan=False)


def decode(json_tree: Any, tensor: Callable[[str], Any], source: str = "description") -> Any:
    """Inverse of :func:`encode`; ``tensor(key)`` returns the array stored under ``key``.

    Raises:
        PrmFormatError: a malformed tag, a dict key that is not a scalar or flat tuple, or
            nesting deeper than :data:`~.legacy_pickle.MAX_DEPTH` (names ``source``).
    """

    def bad(message: str) -> PrmFormatError:
        return PrmFormatError(f"{source}: malformed description: {message}.")

    def walk(value: Any, depth: int) -> Any:
        if isinstance(value, (str, int, float)) or value is None:
            return value
        if depth > MAX_DEPTH:
            raise bad(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        if len(value) == 1:
            tag, inner = next(iter(value.items()))
            if tag == "__tensor__":
                return tensor(inner)
            if tag == "__tuple__":
                if not isinstance(inner, list):
                    raise bad("a __tuple__ tag without a list")
                return tuple(walk(v, depth + 1) for v in inner)
            if tag == "__float__":
                if inner not in ("nan", "inf", "-inf"):
                    raise bad(f"__float__ {str(inner)[:20]!r}; expected 'nan', 'inf' or '-inf'")
                return float(inner)
            if tag == "__dict__":
                if not isinstance(inner, list) or not all(
                    isinstance(p, list) and len(p) == 2 for p in inner
                ):
                    raise bad("a __dict__ tag without a list of [key, value] pairs")
                return {_key(walk(k, depth + 1), bad): walk(v, depth + 1) for k, v in inner}
            if tag == "__bytes__":
                if not isinstance(inner, str):
                    raise bad("a __bytes__ tag without a string")
                return inner.encode("latin-1")
            if tag == "__records__":
                return _records(inner, lambda v: walk(v, depth + 2), bad)
        return {k: walk(v, depth + 1) for k, v in value.items()}

    return walk(json_tree, 0)


def _key(key: Any, bad: Callable[[str], PrmFormatError]) -> Any:
    if isinstance(key, list):
        key = tuple(key)
    if isinstance(key, tuple):
        if all(isinstance(k, (str, int, float)) or k is None for k in key):
            return key
    elif isinstance(key, (str, int, float)) or key is None:
        return key
    raise bad(f"a dict key of type {type(key).__name__}; keys are scalars or flat tuples")


def _records(
    spec: Any, walk: Callable[[Any], Any], bad: Callable[[str], PrmFormatError]
) -> np.ndarray:
    """The structured array of a ``__records__`` tag (see the module docstring)."""
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "fields"}:
        raise bad("a __records__ tag without exactly dtype, shape and fields")
    formats, shape, fields = spec["dtype"], spec["shape"], spec["fields"]
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(isinstance(d, int) and 0 <= d < 2**31 for d in shape)
        and isinstance(formats, list)
        and all(
            isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)
            for f in formats
        )
        and isinstance(fields, dict)
        and set(fields) == {f[0] for f in formats}
    ):
        raise bad("a malformed __records__ tag")
    dtypes = []
    for name, code in formats:
        try:
            dtype = np.dtype(code)
        except TypeError:
            raise bad(f"record field {name[:40]!r} of unknown format {code[:20]!r}") from None
        if dtype.kind not in "biufcO" or dtype.names is not None:
            raise bad(f"record field {name[:40]!r} of format {code[:20]!r}; numbers or O only")
        dtypes.append((name, dtype))
    out = np.zeros(tuple(shape), dtype=np.dtype(dtypes))
    for name, dtype in dtypes:
        value = walk(fields[name])
        if dtype.kind == "O":
            if not isinstance(value, list) or len(value) != out.size:
                raise bad(f"record field {name[:40]!r} does not hold {out.size} items")
            if not all(isinstance(v, _PLAIN_ITEMS) for v in value):
                raise bad(f"record field {name[:40]!r} holds other than strings and numbers")
            column = np.empty(out.size, dtype=object)
            column[:] = value
            out[name] = column.reshape(out.shape)
        else:
            array = np.asarray(value)
            if array.shape != out.shape:
                raise bad(f"record field {name[:40]!r} has shape {array.shape}, not {out.shape}")
            out[name] = array
    return out
