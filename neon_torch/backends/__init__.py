"""Backends (neon's ``neon.backends``): :func:`gen_backend` and the :class:`Backend` it returns."""

from .backend import Backend, cleanup_backend, current_backend, gen_backend

__all__ = ["Backend", "cleanup_backend", "current_backend", "gen_backend"]
