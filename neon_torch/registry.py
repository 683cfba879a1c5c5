"""The one registry of neon type strings.

neon identifies every object in descriptions and ``.prm`` files by its full Python path, e.g.
``neon.layers.layer.Linear``. neon_torch classes register themselves under those strings with
:func:`neon_type`; loaders resolve strings through :func:`lookup`. Nothing ever imports a module
path read from a file.

>>> from neon_torch.layers import Linear
>>> lookup("neon.layers.layer.Linear") is Linear
True
>>> type_string(Linear)
'neon.layers.layer.Linear'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TypeVar

from .errors import UnknownNeonTypeError

__all__ = [
    "available",
    "lookup",
    "lookup_short",
    "neon_builder",
    "neon_type",
    "type_string",
]

_T = TypeVar("_T", bound=type)
_BY_NAME: dict[str, type] = {}
_PRIMARY: dict[type, str] = {}
# classes neon code names but neon never writes into a file (they build other layers)
_BUILDERS: dict[str, type] = {}


def neon_type(primary: str, *aliases: str) -> Callable[[_T], _T]:
    """Class decorator: register a class under its neon type string (and aliases).

    ``primary`` is the string neon writes into descriptions; ``aliases`` are other spellings a
    file or a script may use (e.g. the package-level ``neon.layers.Linear``).
    """

    def register(cls: _T) -> _T:
        for key in (primary, *aliases):
            known = _BY_NAME.get(key)
            if known is not None and known is not cls:
                raise ValueError(f"neon type {key!r} is already registered to {known!r}")
            _BY_NAME[key] = cls
        _PRIMARY[cls] = primary
        return cls

    return register


def neon_builder(name: str) -> Callable[[_T], _T]:
    """Class decorator for a class a neon script or YAML file names, but that neon never
    writes into a description because it builds other layers (``Affine`` is a Linear, a Bias
    and an Activation): :func:`lookup_short` finds it, :func:`lookup` (files) does not."""

    def register(cls: _T) -> _T:
        _BUILDERS[name] = cls
        return cls

    return register


def lookup(name: str) -> type:
    """Return the class registered under ``name``.

    Raises:
        UnknownNeonTypeError: ``name`` is unknown; the message suggests close matches.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_BY_NAME), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNeonTypeError(
            f"Unknown neon type {name!r}.{hint} The registered types are listed by "
            "neon_torch.registry.available()."
        ) from None


def lookup_short(name: str, packages: tuple[str, ...], source: str = "") -> type:
    """The class a short name such as ``Linear`` stands for, as neon's YAML files write them.

    The candidates are the registered types under the neon ``packages`` (e.g.
    ``("neon.layers", "neon.initializers")``), searched in that order; ``name`` may also be a
    full neon path, which is looked up as it is.

    Raises:
        UnknownNeonTypeError: no registered type of those packages has that name; the message
            starts with ``source`` and suggests close names.
    """
    prefix = f"{source}: " if source else ""
    known = {**_BUILDERS, **_BY_NAME}
    if name.startswith("neon.") and name in known:
        return known[name]
    short = name.rsplit(".", 1)[-1]
    names: dict[str, type] = {}
    for package in packages:
        for key, cls in sorted(known.items()):
            if key.startswith(package + "."):
                names.setdefault(key.rsplit(".", 1)[-1], cls)
    if (name.startswith("neon.") or "." not in name) and short in names:
        return names[short]
    close = difflib.get_close_matches(short, list(names), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownNeonTypeError(f"{prefix}unknown type {name!r}.{hint}")


def type_string(cls: type) -> str:
    """The neon type string a class writes into descriptions."""
    try:
        return _PRIMARY[cls]
    except KeyError:
        raise UnknownNeonTypeError(
            f"{cls.__module__}.{cls.__qualname__} has no neon type string; decorate it with "
            "@neon_torch.registry.neon_type('...') to make it describable."
        ) from None


def available() -> list[str]:
    """Every registered neon type string, sorted."""
    return sorted(_BY_NAME)
