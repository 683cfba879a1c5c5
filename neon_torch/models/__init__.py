"""Models (neon's ``neon.models``)."""

from .gan import GAN
from .model import Model

__all__ = ["GAN", "Model"]
