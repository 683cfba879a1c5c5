"""Normalise descriptions written by the various neon versions and backends into one form.

What neon files differ in, and what every description looks like afterwards:

* **Convolution bias.** neon's ``Conv(bias=...)`` is one fused ``Convolution_bias`` layer,
  but files may list it unfused (a ``Convolution`` entry directly followed by a ``Bias``
  entry; older versions and MKL-written files) or give a fused entry's ``params`` as the
  two-element list ``[conv entry, bias entry]``. Both become one ``Convolution_bias`` entry
  with ``params = {'W', 'weight_bias'}``, ``config['bias']`` = the bias initializer and
  ``states = [[W states], [bias states]]``, as neon's own loading pass does (only a
  Convolution followed by a Bias is merged; Deconvolution and Linear keep their Bias). A
  Convolution without a following Bias (e.g. the last layer of a container, which neon 2.6
  itself fails on) stays as it is.
* **Parameter containers.** ``params`` given as a bare array becomes ``{'W': array}``;
  BatchNorm ``params`` given as the list ``[beta, gamma, gmean, gvar]`` becomes a dict.
* **States.** Missing ``states`` stay missing (nothing to restore); multi-parameter layers
  always get one list per parameter.
* **Type names.** neon 2.6 finds a class under any module that imports it and under its bare
  name (older versions wrote some of those spellings); every such spelling of a layer,
  initializer, transform or optimizer becomes the class's own path (``_neon_names.ALIASES``,
  generated from real neon 2.6), in every description of the file. Names neon 2.6 itself no
  longer has (the merge layers of neon 1.0's ``neon.layers.merge``, neon 1.3-1.4's
  ``ColorNoise`` layer, neon 1.4-1.6's ``neon.layers.container.RoiPooling``) are refused with
  :class:`~neon_torch.errors.UnknownNeonTypeError`, as neon 2.6 refuses them.
* **Backend.** ``compat_mode`` ``'neon'`` (what neon writes for "none") is read as None.
* **Pre-1.2 files** (no ``'model'`` key, a ``'layer_params_states'`` list aligned with the
  optimized layers) keep that form with each entry's ``params`` normalised as above; they can
  only be loaded into a model built in code.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np

from ..errors import PrmFormatError, UnknownNeonTypeError
from ._neon_names import ALIASES

__all__ = ["canonical_type", "normalize"]

_GONE = {
    "neon.layers.merge.Merge": "neon 1.0",
    "neon.layers.merge.MergeConcat": "neon 1.0",
    "neon.layers.merge.MergeConcatSequence": "neon 1.0",
    "neon.layers.merge.MergeSum": "neon 1.0",
    "neon.layers.layer.ColorNoise": "neon 1.3-1.4",
    "neon.layers.container.RoiPooling": "neon 1.4-1.6",
}

_CONV = "neon.layers.layer.Convolution"
_CONV_BIAS = "neon.layers.layer.Convolution_bias"
_BIAS = "neon.layers.layer.Bias"
_BATCH_NORM = "neon.layers.layer.BatchNorm"
_BN_KEYS = ("beta", "gamma", "gmean", "gvar")


def normalize(tree: Any, source: str) -> dict[str, Any]:
    """Return ``tree`` (a loaded neon ``.prm`` dict) in the normal form described above."""
    if not isinstance(tree, dict):
        raise PrmFormatError(
            f"{source}: a .prm file holds a dict, but this one holds a {type(tree).__name__}."
        )
    out = dict(tree)
    if "model" not in out:
        entries = out.get("layer_params_states")
        if not isinstance(entries, list):
            raise PrmFormatError(
                f"{source}: neither a 'model' description nor an old-style "
                "'layer_params_states' list; this is not a neon parameter file."
            )
        out["layer_params_states"] = [_normalize_entry(e, source) for e in entries]
        return out
    out["model"] = _canonical(out["model"], source)
    if not _is_description(out["model"]):
        raise PrmFormatError(f"{source}: 'model' is not a {{'type', 'config'}} description.")
    out["model"] = _normalize_layer(out["model"], source)
    return out


def canonical_type(type_name: str, source: str | None = None) -> str:
    """``type_name`` as the class's own neon 2.6 path (see the module docstring); ``source``
    (the file, if given) starts the error message.

    Raises:
        UnknownNeonTypeError: a type only an older neon version had.
    """
    if type_name in _GONE:
        where = f"{source}: " if source else ""
        raise UnknownNeonTypeError(
            f"{where}{type_name!r} was written by {_GONE[type_name]} and no longer exists in "
            "neon 2.6, which cannot load it either; rebuild the model with neon 2.6's layers "
            "and load the weights into it."
        )
    return ALIASES.get(type_name, type_name)


def _canonical(value: Any, source: str) -> Any:
    """``value`` with every description's type string made canonical, at any depth."""
    if isinstance(value, dict):
        out = {k: _canonical(v, source) for k, v in value.items() if k != "params"}
        if "params" in value:
            out["params"] = value["params"]
        if isinstance(out.get("type"), str):
            out["type"] = canonical_type(out["type"], source)
        return out
    if isinstance(value, list):
        return [_canonical(v, source) for v in value]
    if isinstance(value, tuple):
        return tuple(_canonical(v, source) for v in value)
    return value


def _is_description(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and isinstance(value.get("type"), str)


def _normalize_layer(desc: dict[str, Any], source: str) -> dict[str, Any]:
    desc = _normalize_entry(desc, source)
    config = desc.get("config")
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        children = [
            _normalize_layer(c, source) if _is_description(c) else c for c in config["layers"]
        ]
        desc["config"] = {**config, "layers": _fuse_conv_bias(children, source)}
    return desc


def _normalize_entry(entry: Any, source: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise PrmFormatError(f"{source}: a layer entry is a {type(entry).__name__}, not a dict.")
    entry = dict(entry)
    params = entry.get("params")
    if isinstance(params, np.ndarray):
        entry["params"] = {"W": params}
    elif isinstance(params, list):
        if entry.get("type") == _CONV_BIAS and len(params) == 2:
            return _fused(
                _normalize_entry(params[0], source),
                _normalize_entry(params[1], source),
                source,
                entry,
            )
        if entry.get("type", _BATCH_NORM) == _BATCH_NORM and len(params) == len(_BN_KEYS):
            entry["params"] = dict(zip(_BN_KEYS, params, strict=True))
    if entry.get("type") == _CONV_BIAS and entry.get("states") == []:
        entry["states"] = [[], []]
    return entry


def _config(entry: dict[str, Any]) -> dict[str, Any]:
    config = entry.get("config")
    return config if isinstance(config, dict) else {}


def _weights(entry: dict[str, Any], source: str) -> np.ndarray:
    params = entry.get("params")
    weights = params.get("W") if isinstance(params, dict) else None
    if not isinstance(weights, np.ndarray):
        raise PrmFormatError(
            f"{source}: a convolution or bias entry of a fused Convolution_bias has no 'W' array."
        )
    return weights


def _states(entry: dict[str, Any]) -> list[Any]:
    states = entry.get("states")
    return list(states) if isinstance(states, (list, tuple)) else []


def _fused(
    conv: dict[str, Any], bias: dict[str, Any], source: str, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One ``Convolution_bias`` entry from a Convolution entry and a Bias entry."""
    out = dict(base if base is not None else conv)
    out["type"] = _CONV_BIAS
    config = dict(_config(out) or _config(conv))
    bias_init = _config(bias).get("init")
    if bias_init is not None:
        config.setdefault("bias", bias_init)
    out["config"] = config
    out["params"] = {"W": _weights(conv, source), "weight_bias": _weights(bias, source)}
    if "states" in conv or "states" in bias:
        out["states"] = [_states(conv), _states(bias)]
    return out


def _fuse_conv_bias(children: list[Any], source: str) -> list[Any]:
    out: list[Any] = []
    i = 0
    while i < len(children):
        here = children[i]
        after = children[i + 1] if i + 1 < len(children) else None
        if (
            _is_description(here)
            and here["type"] == _CONV
            and _is_description(after)
            and after["type"] == _BIAS
            and isinstance(here.get("params"), dict)
            and isinstance(after.get("params"), dict)
        ):
            out.append(_fused(here, after, source))
            i += 2
        else:
            out.append(here)
            i += 1
    return out
