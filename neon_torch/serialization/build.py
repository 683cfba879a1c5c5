"""Rebuild a model's layers from a neon description, after checking it against a schema.

neon's rule (``gen_class``) builds every ``{'type', 'config'}`` dict it meets, of any class.
Descriptions come from files the user did not necessarily make, so here a description is first
checked completely, without building anything, against what may appear where:

* the root is a layer container; a container's ``layers`` hold layer descriptions (or lists of
  them); nothing else is ever built;
* a layer's ``init``, ``init_inner`` and ``bias`` (and SkipThought's ``init_*``) hold an
  initializer (or plain data, e.g. an array for :class:`~neon_torch.initializers.Array`-style
  values); ``activation``, ``gate_activation``, ``transform`` and SkipThought's ``activ_rec``
  and ``activ_rec_gate`` hold a transform (never a cost). A callback, data set, iterator,
  model, optimizer or any other class is refused wherever it appears;
* every other config value is plain data (numbers, strings, None, arrays and lists, tuples and
  dicts of them) and must match the type its constructor parameter declares (``int``,
  ``float``, ``bool``, ``str``, optional and sequence forms); ints are bounded by
  :data:`MAX_CONFIG_INT`. Unknown keys are refused.

Only then are the objects built, bottom-up, through the type-string registry
(:func:`neon_torch.registry.lookup`; no module path read from a file is ever imported). The
classes that may be built take only numbers, strings and other such objects, so building has
no side effects. Compound layers stored expanded (``Linear_0``, ``Linear_0_bias``, ...) come
back as those parts, with their stored names.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import LayerConfigError, NeonTorchError, PrmFormatError, UnknownNeonTypeError
from ..registry import lookup
from .legacy import canonical_type

__all__ = ["MAX_CONFIG_INT", "build_object", "is_description", "resolve", "validate"]

MAX_CONFIG_INT = 2**31 - 1
"""Largest integer a layer's config may hold (sizes, counts, strides, axes)."""

_NAMES = {
    "container": "a layer container",
    "layer": "a layer",
    "initializer": "an initializer",
    "transform": "an activation transform",
}
_ENTRY_KEYS = {"type", "config", "container", "params", "states"}
_OBJECT_KEYS = {
    "init": "initializer",
    "init_inner": "initializer",
    "bias": "initializer",
    "activation": "transform",
    "gate_activation": "transform",
    "transform": "transform",
    # SkipThought's arguments
    "init_embed": "initializer",
    "init_rec": "initializer",
    "init_ff": "initializer",
    "init_const": "initializer",
    "activ_rec": "transform",
    "activ_rec_gate": "transform",
}


def is_description(value: Any) -> bool:
    """True for ``{'type': str, ...}`` dicts whose other keys are neon's description keys."""
    return (
        isinstance(value, dict) and isinstance(value.get("type"), str) and set(value) <= _ENTRY_KEYS
    )


def resolve(type_name: str, source: str = "description") -> type:
    """The class registered under ``type_name`` (or under the own path of the class neon 2.6
    finds under that spelling, see :func:`~neon_torch.serialization.legacy.canonical_type`;
    importing ``neon_torch`` imports every package that registers classes, so the registry is
    complete here).

    Raises:
        UnknownNeonTypeError: unknown type string (the message names ``source``).
    """
    try:
        return lookup(canonical_type(type_name))
    except UnknownNeonTypeError as err:
        raise UnknownNeonTypeError(f"{source}: {err}") from None


def _role_bases(role: str) -> tuple[type, tuple[type, ...]]:
    """``(allowed base, refused bases)`` for a position in a description."""
    from ..initializers import Initializer
    from ..layers._base import Layer
    from ..layers.container import LayerContainer
    from ..transforms import Cost
    from ..transforms.activation import Transform

    return {
        "container": (LayerContainer, ()),
        "layer": (Layer, ()),
        "initializer": (Initializer, ()),
        "transform": (Transform, (Cost,)),
    }[role]


def _bad(source: str, where: str, message: str) -> PrmFormatError:
    return PrmFormatError(f"{source}: {where}: {message}")


def validate(desc: Any, source: str, role: str = "container", where: str = "model") -> None:
    """Check the description ``desc`` for position ``role`` (see the module docstring) without
    building anything.

    Raises:
        PrmFormatError: a type, key or value that may not appear where it is (names the field).
        UnknownNeonTypeError: a type string the registry does not know.
    """
    if not is_description(desc):
        raise _bad(source, where, f"expected {_NAMES[role]} ({{'type', 'config'}}).")
    cls = resolve(desc["type"], f"{source}: {where}")
    base, refused = _role_bases(role)
    if not issubclass(cls, base) or issubclass(cls, refused):
        raise _bad(
            source,
            where,
            f"{desc['type']} is not {_NAMES[role]}; only {_NAMES[role]} may appear here (the "
            "file is corrupted or was made to run other code).",
        )
    config = desc.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise _bad(source, where, f"the config of {desc['type']} is not a dict of named values.")
    accepted = inspect.signature(cls).parameters
    unknown = sorted(k for k in config if k not in accepted or k == "self")
    if unknown:
        raise _bad(
            source,
            where,
            f"{desc['type']} has no argument(s) {unknown}; it accepts "
            f"{sorted(k for k in accepted if k != 'self')}. The file was written by another "
            "neon version or is corrupted.",
        )
    for key, value in config.items():
        at = f"{where}.{key}"
        if key == "layers" and role in ("container", "layer") and _is_container(cls):
            _validate_layers(value, source, at)
        elif key in _OBJECT_KEYS and is_description(value):
            validate(value, source, _OBJECT_KEYS[key], at)
        else:
            _check_plain(value, str(accepted[key].annotation), source, at)


def _is_container(cls: type) -> bool:
    return issubclass(cls, _role_bases("container")[0])


def _validate_layers(value: Any, source: str, where: str) -> None:
    if not isinstance(value, (list, tuple)):
        raise _bad(source, where, "expected a list of layer descriptions.")
    for i, item in enumerate(value):
        if isinstance(item, (list, tuple)):
            for j, inner in enumerate(item):
                validate(inner, source, "layer", f"{where}.{i}.{j}")
        else:
            validate(item, source, "layer", f"{where}.{i}")


_INT = (int, np.integer)
_FLOAT = (int, float, np.integer, np.floating)


def _check_plain(value: Any, annotation: str, source: str, where: str) -> None:
    """``value`` is plain data and matches the constructor's annotation (simple forms only;
    anything more elaborate is checked for plainness alone)."""
    if _holds_description(value):
        raise _bad(
            source,
            where,
            "holds an object description where only plain values are allowed; nothing is "
            "built here.",
        )
    if not _matches(value, annotation.replace(" ", "")):
        raise _bad(
            source,
            where,
            f"a {type(value).__name__} ({_short(value)}) where {annotation} is expected.",
        )


def _short(value: Any) -> str:
    if isinstance(value, (str, bool, int, float)) or value is None:
        return repr(value)[:40]
    return type(value).__name__


def _holds_description(value: Any) -> bool:
    if isinstance(value, dict):
        return "type" in value or any(_holds_description(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_description(v) for v in value)
    return False


def _matches(value: Any, annotation: str) -> bool:
    options = _split(annotation)
    if len(options) > 1:
        return any(_matches(value, option) for option in options)
    kind = annotation
    if kind == "None":
        return value is None
    if kind == "bool":
        return isinstance(value, (bool, np.bool_)) or (isinstance(value, _INT) and value in (0, 1))
    if kind == "int":
        return bool(  # a numpy integer compares to a numpy bool
            isinstance(value, _INT)
            and not isinstance(value, bool)
            and -MAX_CONFIG_INT <= value <= MAX_CONFIG_INT
        )
    if kind == "float":
        return isinstance(value, _FLOAT) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    for prefix in ("list[", "Sequence[", "tuple["):
        if kind.startswith(prefix) and kind.endswith("]"):
            inner = kind[len(prefix) : -1].removesuffix(",...")
            return isinstance(value, (list, tuple)) and all(_matches(v, inner) for v in value)
    return True  # Any, Axes and other rich forms: plainness is what is checked


def _split(annotation: str) -> list[str]:
    """Top-level ``|`` alternatives of an annotation string."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(annotation):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            out.append(annotation[start:i])
            start = i + 1
    out.append(annotation[start:])
    return out


def _value(value: Any, key: str, source: str) -> Any:
    if key in _OBJECT_KEYS and is_description(value):
        return _construct(value, source)
    if key == "layers" and isinstance(value, (list, tuple)):
        return [
            [_construct(v, source) for v in item]
            if isinstance(item, (list, tuple))
            else _construct(item, source)
            for item in value
        ]
    return value


def _construct(desc: dict[str, Any], source: str) -> Any:
    cls = resolve(desc["type"], source)
    config = desc.get("config") or {}
    kwargs = {k: _value(v, k, source) for k, v in config.items()}
    try:
        return cls(**kwargs)
    except UnknownNeonTypeError:
        raise
    except (NeonTorchError, TypeError, ValueError, ArithmeticError, LookupError) as err:
        raise LayerConfigError(
            f"{source}: cannot build {desc['type']} {config.get('name', '')!s:.60} from its "
            f"stored config: {err}"
        ) from None


def build_object(desc: Any, source: str = "description", role: str = "container") -> Any:
    """The object described by ``desc`` (``source`` names the file in errors), after
    :func:`validate` accepted the whole description for position ``role``.

    Raises:
        PrmFormatError: a description the schema refuses.
        UnknownNeonTypeError: a type string the registry does not know.
        LayerConfigError: a constructor that refuses its (well-typed) stored values.
    """
    validate(desc, source, role)
    return _construct(desc, source)
