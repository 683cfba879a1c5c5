"""Helpers for neon ``.prm`` fixtures in tests.

Files are read by the package's own loader (:func:`neon_torch.serialization.read_raw`: the
restricted unpickler, so a test never runs code from a fixture); these helpers only walk the
loaded dict and copy weights by position into models built in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neon_torch.serialization import read_raw

__all__ = ["load_prm", "parameter_entries", "set_weights_from_prm"]


def load_prm(path: str | Path) -> dict:
    """The dict neon pickled into ``path``, as written (not normalised)."""
    return read_raw(path)[1]


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
