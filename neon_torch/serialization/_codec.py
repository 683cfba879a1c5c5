"""The JSON side of a neon_torch ``.prm``: a description tree with tensor references.

A description is a tree of dicts, lists, tuples, strings, numbers, None and numpy arrays.
:func:`encode` returns a JSON-ready tree in which every array is replaced by
``{"__tensor__": "<key>"}`` plus the arrays by key; :func:`decode` is its inverse. Values JSON
cannot hold are tagged with one-key objects:

* ``{"__tuple__": [...]}`` for tuples (neon keeps ``fshape=(3, 3, 8)`` a tuple);
* ``{"__float__": "nan" | "inf" | "-inf"}`` for non-finite floats;
* ``{"__dict__": [[key, value], ...]}`` for dicts whose keys are not all strings, or that
  would be mistaken for a tag.

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

_TAGS = ("__tensor__", "__tuple__", "__float__", "__dict__")


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
            if value.dtype.hasobject:
                raise PrmFormatError(
                    f"{'.'.join(path)}: cannot store an object array (dtype {value.dtype}); "
                    "only numeric arrays can be saved."
                )
            key = key_for(path)
            tensors[key] = value
            return {"__tensor__": key}
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
            return value
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
