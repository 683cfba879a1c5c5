"""The opt-in ``neon`` import shim: run neon 2.6 scripts unchanged on neon_torch.

``neon_torch.compat.install()`` makes ``import neon``, ``from neon.layers import Affine``,
``from neon.util.argparser import NeonArgparser``, ``import neon.transforms.cost`` and every
other public module path of neon 2.6 resolve to neon_torch objects (the same classes, so
``neon.layers.Affine is neon_torch.layers.Affine``). A neon module or name neon_torch does not
provide raises :class:`NeonNameError` (an ``ImportError``) that names it, says why and points
to ``docs/compat.md``. Importing ``neon_torch`` never installs the shim; ``neon-torch run
SCRIPT.py`` does.
"""

from __future__ import annotations

import sys

from ._finder import NeonFinder, NeonNameError, installed_finder
from ._logger import neon_logger

__all__ = ["NeonNameError", "install", "is_installed", "neon_logger", "uninstall"]


def install() -> None:
    """Put the ``neon`` finder first in ``sys.meta_path`` (idempotent).

    Raises:
        NeonNameError: a real ``neon`` package is already imported in this process.
    """
    if installed_finder() is not None:
        return
    existing = sys.modules.get("neon")
    if existing is not None and not isinstance(getattr(existing, "__loader__", None), NeonFinder):
        raise NeonNameError(
            "The real neon package is already imported in this process; install the "
            "neon_torch shim before anything imports neon (or run under `neon-torch run`)."
        )
    sys.meta_path.insert(0, NeonFinder())


def uninstall() -> None:
    """Remove the finder and every ``neon`` / ``neon.*`` module it created."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, NeonFinder)]
    for name in [n for n in sys.modules if n == "neon" or n.startswith("neon.")]:
        if isinstance(getattr(sys.modules[name], "__loader__", None), NeonFinder):
            del sys.modules[name]


def is_installed() -> bool:
    """True while the shim is installed."""
    return installed_finder() is not None
