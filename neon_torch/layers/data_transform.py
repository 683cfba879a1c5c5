"""neon's ``DataTransform`` layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..registry import neon_type
from ._base import Layer

__all__ = ["DataTransform"]


@neon_type("neon.layers.layer.DataTransform", "neon.layers.DataTransform")
class DataTransform(Layer):
    """Applies a transform to the data, without gradient (e.g. ``Normalizer(divisor=128.)``).

    neon semantics: meant as the first layer; its backward returns nothing, so no layer before
    it receives a gradient. Works in place in neon (it owns no output buffer).

    Shape:
        output = input.
    """

    owns_output = False

    def __init__(self, transform: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.transform = transform

    def forward(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self.transform(x)

    def to_torch(self) -> nn.Module:
        """The transform's module (e.g. a scale for ``Normalizer``)."""
        shape = self.in_shape
        return self.transform.to_torch(
            flat_features=not isinstance(shape, tuple) or len(shape) == 2
        )

    def __str__(self) -> str:
        return f"DataTransform Layer '{self.name}': {type(self.transform).__name__}"
