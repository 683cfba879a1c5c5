"""Models (neon's ``neon.models``)."""

from .model import Model

__all__ = ["Model"]
