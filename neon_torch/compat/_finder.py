"""The meta path finder that makes ``neon`` and its submodules resolve to neon_torch.

Each ``neon.*`` module is a fresh module object whose attributes are looked up on first use
(PEP 562 ``__getattr__``): registry type strings first, then the public names of the mapped
neon_torch modules, then the extra non-class names of :mod:`._table`. Nothing from the real
neon is imported, and no module path read from anywhere else is imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

from .. import registry
from ..errors import UnsupportedNeonFeature
from . import _table
from ._table import EXTRA, MODULES, is_neon_module, is_neon_name, module_reason, unsupported_reason

__all__ = ["NeonFinder", "NeonNameError"]

_DOC = "docs/compat.md"


class NeonNameError(UnsupportedNeonFeature, ImportError):
    """A neon module or name that neon_torch does not provide (under the import shim)."""


def _public(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def missing_reason(qualified: str, module: str | None = None) -> str:
    """Why ``qualified`` (a neon module path, or a name of neon module ``module``) does not
    resolve: its listed reason, "not provided yet" for a real neon name without one, or
    that neon 2.6 has no such module or name."""
    reason = module_reason(qualified) if module is None else None
    reason = reason or unsupported_reason(qualified)
    if reason:
        return reason
    real = (
        is_neon_module(qualified)
        if module is None
        else is_neon_name(module, qualified[len(module) + 1 :])
    )
    if real:
        return "a neon 2.6 name that neon_torch does not provide yet"
    return "neon 2.6 has no such public module or name"


def _missing(qualified: str, module: str | None = None) -> NeonNameError:
    why = missing_reason(qualified, module)
    return NeonNameError(
        f"{qualified} is not provided by neon_torch: {why}. See {_DOC} in the neon_torch "
        "repository for every neon name and its status."
    )


def _resolve(neon_module: str, name: str) -> Any:
    try:
        return registry.lookup(f"{neon_module}.{name}")
    except KeyError:
        pass
    spec = EXTRA.get(neon_module, {}).get(name)
    if spec is not None:
        path, _, attr = spec.partition(":")
        return getattr(importlib.import_module(path), attr)
    for target in MODULES.get(neon_module, ()):
        module = importlib.import_module(target)
        if name in _public(module):
            return getattr(module, name)
    raise _missing(f"{neon_module}.{name}", neon_module)


def _make_getattr(neon_module: str, module: types.ModuleType) -> Any:
    def __getattr__(name: str) -> Any:
        if name.startswith("_") and name not in EXTRA.get(neon_module, {}):
            raise AttributeError(f"module {neon_module!r} has no attribute {name!r}")
        child = f"{neon_module}.{name}"
        if child in MODULES or (is_neon_module(child) and module_reason(child) is None):
            return importlib.import_module(child)
        value = _resolve(neon_module, name)
        setattr(module, name, value)
        return value

    return __getattr__


def _all_names(neon_module: str) -> list[str]:
    prefix = neon_module + "."
    names = {t[len(prefix) :] for t in registry.available() if t.startswith(prefix)}
    names = {n for n in names if "." not in n}
    for target in MODULES.get(neon_module, ()):
        names.update(_public(importlib.import_module(target)))
    names.update(EXTRA.get(neon_module, {}))
    return sorted(names)


class NeonFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and creates the ``neon.*`` modules: those of :data:`._table.MODULES`, and every
    other real neon 2.6 module without a reason to refuse it (its names then resolve through
    the registry or report why they are missing)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "neon" and not fullname.startswith("neon."):
            return None
        if fullname not in MODULES and (not is_neon_module(fullname) or module_reason(fullname)):
            raise _missing(fullname)
        is_package = any(m.startswith(fullname + ".") for m in [*MODULES, *_table.NEON_API])
        return importlib.machinery.ModuleSpec(fullname, self, is_package=is_package)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name, f"neon_torch's stand-in for {spec.name}")
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        if module.__spec__ is not None and module.__spec__.submodule_search_locations is not None:
            module.__path__ = []
        module.__getattr__ = _make_getattr(name, module)  # type: ignore[method-assign]  # module-level __getattr__
        module.__all__ = _all_names(name)  # type: ignore[attr-defined]  # set on a plain module


def installed_finder() -> NeonFinder | None:
    """The finder in ``sys.meta_path``, if installed."""
    return next((f for f in sys.meta_path if isinstance(f, NeonFinder)), None)
