"""Backends (neon's ``neon.backends``): :func:`gen_backend` and the :class:`Backend` it returns."""

from .backend import Backend, NervanaObject, cleanup_backend, current_backend, gen_backend
from .tensor import Tensor

__all__ = [
    "Backend",
    "NervanaObject",
    "Tensor",
    "cleanup_backend",
    "current_backend",
    "gen_backend",
]
