"""``NervanaObject``: neon's naming rule, the global backend handle and generic descriptions."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .errors import UnknownNeonTypeError
from .registry import type_string

if TYPE_CHECKING:
    from .backends.backend import Backend

__all__ = ["Describable", "NervanaObject", "describe_value"]


def _differs(value: Any, default: Any) -> bool:
    if value is default:
        return False
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return True
    try:
        return bool(value != default)
    except (TypeError, ValueError):
        return True


def describe_value(value: Any) -> Any:
    """Replace describable objects (recursively inside lists, tuples and dicts) by descriptions."""
    if isinstance(value, Describable):
        return value.get_description()
    if isinstance(value, list):
        return [describe_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(describe_value(v) for v in value)
    if isinstance(value, dict):
        return {k: describe_value(v) for k, v in value.items()}
    return value


class Describable:
    """Something that neon writes into a description as ``{'type': ..., 'config': {...}}``.

    ``config`` holds every ``__init__`` argument whose same-named attribute differs from the
    argument's default (neon's rule), with nested describable objects described in turn. A
    class defined outside neon_torch (user code) is typed ``module.ClassName`` unless
    registered, and arguments it keeps no attribute for are left out, as neon does.
    Classes list arguments to leave out in ``_description_skip``.
    """

    _description_skip: ClassVar[tuple[str, ...]] = ()
    # constructor argument -> attribute holding it, where the two names differ
    _config_attrs: ClassVar[dict[str, str]] = {}

    def get_description(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """neon's description of this object: ``{'type': <neon type>, 'config': {...}}``."""
        config: dict[str, Any] = {}
        cls = type(self)
        user_code = cls.__module__.split(".")[0] != "neon_torch"
        signature = inspect.signature(cls.__init__)
        for pname, param in signature.parameters.items():
            if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if pname in skip or pname in self._description_skip:
                continue
            attr = self._config_attrs.get(pname, pname)
            if not hasattr(self, attr) and user_code:
                continue  # neon leaves out what a user class keeps no attribute for
            if not hasattr(self, attr):
                raise AttributeError(
                    f"{type(self).__name__} stores no attribute {attr!r} for its constructor "
                    f"argument {pname!r}; it cannot be described"
                )
            value = getattr(self, attr)
            if param.default is param.empty or _differs(value, param.default):
                config[pname] = describe_value(value)
        try:
            kind = type_string(cls)
        except UnknownNeonTypeError:
            if not user_code:
                raise
            kind = f"{cls.__module__}.{cls.__qualname__}"  # neon names user classes so
        return {"type": kind, "config": config}


class NervanaObject(Describable):
    """Base of named neon objects.

    neon semantics: an object built with ``name=None`` is named ``<ClassName>_<k>`` where ``k``
    is a per-class counter read before it is incremented. Every construction increments the
    counter of its own class, even when a name is given, and the counter goes down again when an
    object is garbage-collected, so names are reused (``Linear_0`` in a fresh process). A class
    that was never instantiated starts from the counter of its nearest ancestor.

    ``NervanaObject.be`` is the backend made by the last :func:`~neon_torch.backends.gen_backend`.
    """

    # None until gen_backend runs; neon code reads ``self.be`` as always set, so it is typed so
    be: Backend = None  # type: ignore[assignment]  # unset until gen_backend
    _name_counter: ClassVar[int] = 0

    def __init__(self, name: str | None = None) -> None:
        cls = type(self)
        count = cls._name_counter
        self.name = name if name is not None else f"{cls.__name__}_{count}"
        cls._name_counter = count + 1
        self._counted = True

    def __del__(self) -> None:
        if self.__dict__.get("_counted"):
            type(self)._name_counter -= 1

    @property
    def classnm(self) -> str:
        """The class name (neon attribute)."""
        return type(self).__name__
