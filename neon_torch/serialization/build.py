"""Rebuild objects from neon descriptions through the type-string registry.

neon's rule (``gen_class``): a dict with a string ``'type'`` is an object description; its
``'config'`` (``{}`` when missing) is rebuilt recursively — nested descriptions inside dicts,
lists and tuples become objects too — and becomes the keyword arguments of the class. The
class comes from :func:`neon_torch.registry.lookup`; no module path read from a file is ever
imported. Containers' ``layers`` are rebuilt the same way, so compound layers stored expanded
(``Linear_0``, ``Linear_0_bias``, ...) come back as those parts, with their stored names.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import LayerConfigError, NeonTorchError, PrmFormatError, UnknownNeonTypeError
from ..registry import lookup

__all__ = ["build_object", "is_description", "resolve"]

_ENTRY_KEYS = {"type", "config", "container", "params", "states"}


def is_description(value: Any) -> bool:
    """True for ``{'type': str, ...}`` dicts whose other keys are neon's description keys."""
    return (
        isinstance(value, dict) and isinstance(value.get("type"), str) and set(value) <= _ENTRY_KEYS
    )


def _value(value: Any, source: str) -> Any:
    if is_description(value):
        return build_object(value, source)
    if isinstance(value, list):
        return [_value(v, source) for v in value]
    if isinstance(value, tuple):
        return tuple(_value(v, source) for v in value)
    if isinstance(value, dict):
        return {k: _value(v, source) for k, v in value.items()}
    return value


def resolve(type_name: str, source: str = "description") -> type:
    """The class registered under ``type_name``; every neon_torch package is imported first so
    that all classes are registered (these are fixed imports, never names from a file).

    Raises:
        UnknownNeonTypeError: unknown type string (the message names ``source``).
    """
    from .. import callbacks, initializers, layers, models, optimizers, transforms  # noqa: F401

    try:
        return lookup(type_name)
    except UnknownNeonTypeError as err:
        raise UnknownNeonTypeError(f"{source}: {err}") from None


def build_object(desc: dict[str, Any], source: str = "description") -> Any:
    """The object described by ``desc`` (``source`` names the file in errors).

    Raises:
        UnknownNeonTypeError: a type string the registry does not know.
        PrmFormatError: a config the class does not accept.
    """
    cls = resolve(desc["type"], source)
    config = desc.get("config") or {}
    if not isinstance(config, dict):
        raise PrmFormatError(f"{source}: the config of {desc['type']} is not a dict.")
    kwargs = {str(k): _value(v, source) for k, v in config.items()}
    accepted = inspect.signature(cls).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown and not takes_any:
        raise PrmFormatError(
            f"{source}: {desc['type']} has no argument(s) {unknown}; it accepts "
            f"{sorted(k for k in accepted if k != 'self')}. The file was written by another "
            "neon version or is corrupted."
        )
    try:
        return cls(**kwargs)
    except (NeonTorchError, TypeError, ValueError) as err:
        if isinstance(err, (UnknownNeonTypeError, PrmFormatError)):
            raise
        raise LayerConfigError(
            f"{source}: cannot build {desc['type']} from its stored config {config!r:.300}: {err}"
        ) from None
