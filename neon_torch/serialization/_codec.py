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


def decode(json_tree: Any, tensor: Callable[[str], Any]) -> Any:
    """Inverse of :func:`encode`; ``tensor(key)`` returns the array stored under ``key``."""

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            tag, inner = next(iter(value.items()))
            if tag == "__tensor__":
                return tensor(inner)
            if tag == "__tuple__":
                return tuple(walk(v) for v in inner)
            if tag == "__float__":
                return float(inner)
            if tag == "__dict__":
                return {_hashable(walk(k)): walk(v) for k, v in inner}
        return {k: walk(v) for k, v in value.items()}

    try:
        return walk(json_tree)
    except (TypeError, ValueError, AttributeError) as err:
        raise PrmFormatError(f"malformed description: {err}") from None


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
