"""The ``Activation`` layer."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..layout import is_sequence_shape
from ..registry import neon_type
from ._base import Layer

__all__ = ["Activation"]


@neon_type("neon.layers.layer.Activation", "neon.layers.Activation")
class Activation(Layer):
    """Applies a transform (``Rectlin()``, ``Softmax()``, ...) with neon's forward and backward.

    neon semantics: the backward multiplies the incoming error by ``transform.bprop(y)``, a
    function of the layer's output (the identity for ``Softmax`` and ``Logistic(shortcut=True)``).
    Non-elementwise transforms see all features of a sample: image features are flattened in
    (C, H, W) order for them, as neon's ``(C·H·W, N)`` buffer does.

    Shape:
        output = input.
    """

    owns_output = False

    def __init__(self, transform: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.transform = transform
        self._flatten = False

    def configure(self, in_obj: Any) -> Activation:
        super().configure(in_obj)
        shape = self.in_shape
        self._flatten = isinstance(shape, tuple) and not is_sequence_shape(shape)
        return self

    def forward(self, x: Tensor) -> Tensor:
        transform = self.transform
        run = transform.apply if transform._neon_style else transform
        if self._flatten and not transform.elementwise:
            # (N, C, H, W) -> (N, C·H·W) -> transform -> (N, C, H, W)
            return run(x.reshape(x.shape[0], -1)).reshape(x.shape)
        return run(x)

    def to_torch(self) -> nn.Module:
        """``nn.ReLU``, ``nn.Sigmoid``, ``nn.Softmax(dim=-1)``, ... for the transform."""
        return self.transform.to_torch(flat_features=not self._flatten)

    def __str__(self) -> str:
        return f"Activation Layer '{self.name}': {type(self.transform).__name__}"
