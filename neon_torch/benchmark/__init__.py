"""``neon.benchmark``: per-layer timing of a model's forward and backward passes."""

from .benchmark import Benchmark

__all__ = ["Benchmark"]
