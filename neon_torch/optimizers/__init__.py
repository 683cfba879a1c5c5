"""Optimizers and learning-rate schedules (neon's ``neon.optimizers``)."""

from .gdm import GradientDescentMomentum
from .optimizer import Optimizer
from .schedule import Schedule

__all__ = ["GradientDescentMomentum", "Optimizer", "Schedule"]
