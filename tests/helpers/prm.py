"""Read neon ``.prm`` files in tests (TEST-ONLY; the package has its own loader).

neon writes ``pickle.dump(desc, f, 2)`` from Python 2 with numpy 1.x. Reading it needs
``encoding='latin1'`` (Python 2 ``str`` byte strings inside numpy pickles) and only a handful of
globals: numpy's array/scalar reconstruction, ``numpy.ndarray``, ``numpy.dtype`` and
``_codecs.encode`` (how protocol 2 stores ``bytes``). Anything else is refused, so a test never
runs code from a fixture.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

try:  # numpy >= 2 moved the implementation; `numpy.core` only warns and forwards
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

__all__ = ["load_prm", "parameter_entries", "set_weights_from_prm"]

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _PrmUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global {module}.{name} is not allowed in a neon .prm file"
            ) from None


def load_prm(path: str | Path) -> dict:
    """The dict neon pickled into ``path``."""
    with open(path, "rb") as f:
        return _PrmUnpickler(f, encoding="latin1").load()


def parameter_entries(prm: dict) -> list[dict]:
    """Every layer description with ``params`` in ``prm['model']``, depth-first."""
    out: list[dict] = []

    def walk(desc: dict) -> None:
        if "params" in desc:
            out.append(desc)
        for child in desc.get("config", {}).get("layers", []) or []:
            if isinstance(child, dict):
                walk(child)

    walk(prm["model"])
    return out


def _parameter_layers(model: Any) -> list[Any]:
    from neon_torch.layers import LayerContainer, ParameterLayer

    out: list[Any] = []

    def walk(layer: Any) -> None:
        if isinstance(layer, LayerContainer):
            for child in layer.layers:
                walk(child)
        elif isinstance(layer, ParameterLayer):
            out.append(layer)

    walk(model.layers)
    return out


def set_weights_from_prm(model: Any, prm: dict) -> None:
    """Copy every layer's ``params`` from a loaded ``.prm`` dict into ``model`` by position.

    The i-th layer with parameters in the file (depth-first) goes to the i-th
    ``ParameterLayer`` of the model (depth-first, frozen ones included), through
    ``layer.set_neon_params``; counts and class names must agree.
    """
    entries = parameter_entries(prm)
    layers = _parameter_layers(model)
    if len(entries) != len(layers):
        raise ValueError(
            f"the .prm has {len(entries)} layers with parameters, the model {len(layers)}"
        )
    for i, (entry, layer) in enumerate(zip(entries, layers, strict=True)):
        file_class = entry["type"].rsplit(".", 1)[-1]
        if file_class != type(layer).__name__:
            raise ValueError(
                f"parameter layer {i}: the .prm has {entry['type']} "
                f"({entry['config'].get('name')}), the model {type(layer).__name__} "
                f"({layer.name})"
            )
        layer.set_neon_params(entry["params"])
