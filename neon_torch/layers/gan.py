"""neon's ``GenerativeAdversarial`` container and ``GeneralizedGANCost``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..registry import neon_type
from .container import LayerContainer, Sequential
from .cost import GeneralizedCost

__all__ = ["GeneralizedGANCost", "GenerativeAdversarial"]


def _as_sequential(stack: Any) -> Sequential:
    return stack if isinstance(stack, Sequential) else Sequential(stack)


@neon_type("neon.layers.container.GenerativeAdversarial", "neon.layers.GenerativeAdversarial")
class GenerativeAdversarial(LayerContainer):
    """A generator stack and a discriminator stack (two ``Sequential`` containers).

    neon semantics: the generator maps noise of shape ``noise_dim`` to samples shaped like the
    data; the discriminator scores samples. ``layers`` are the generator's layers followed by
    the discriminator's (the order of ``layers_to_optimize`` and of parameter files); the
    :class:`~neon_torch.models.GAN` model allocates the generator first, then the
    discriminator, which fixes the order of the seeded draws.

    Shape:
        input: noise ``(N, *noise_dim)``; ``forward`` returns the discriminator's score of the
        generated samples.
    """

    def __init__(self, generator: Any, discriminator: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.generator = _as_sequential(generator)
        self.discriminator = _as_sequential(discriminator)

    @property
    def layers(self) -> list[Any]:  # type: ignore[override]  # neon's read-only list
        """neon's flat list: the generator's layers, then the discriminator's."""
        return list(self.generator.layers) + list(self.discriminator.layers)

    def configure(self, in_obj: Any) -> GenerativeAdversarial:
        super().configure(in_obj)
        self.generator.configure(in_obj)
        self.discriminator.configure(self.generator)
        self.out_shape = self.discriminator.out_shape
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        self.generator.allocate()
        self.discriminator.allocate()

    def forward(self, z: Tensor) -> Tensor:
        return self.discriminator(self.generator(z))

    def layer_description(self, get_weights: bool = False, keep_states: bool = False) -> dict:
        desc = self.get_description(skip=("generator", "discriminator"))
        desc["config"]["generator"] = self.generator.layer_description()
        desc["config"]["discriminator"] = self.discriminator.layer_description()
        desc["config"]["layers"] = [
            layer.layer_description(get_weights, keep_states) for layer in self.layers
        ]
        desc["container"] = True
        return desc

    def nested_str(self, level: int = 0) -> str:
        pad = "\n" + "  " * level
        out = "  " * level + type(self).__name__ + pad
        out += "  " * level + "Generator:\n"
        out += pad.join(layer.nested_str(level + 1) for layer in self.generator.layers)
        out += "\n" + "  " * level + "Discriminator:\n"
        out += pad.join(layer.nested_str(level + 1) for layer in self.discriminator.layers)
        return out

    def to_torch(self) -> nn.Module:
        """The generator as a plain module (what a trained GAN is used for)."""
        return self.generator.to_torch()


@neon_type("neon.layers.layer.GeneralizedGANCost", "neon.layers.GeneralizedGANCost")
class GeneralizedGANCost(GeneralizedCost):
    """``GeneralizedCost`` for :class:`~neon_torch.transforms.GANCost`: ``get_cost(y_data,
    y_noise, cost_type)`` is the batch mean of the GAN cost of that type, kept as ``cost``.

    Shape:
        ``y_data`` and ``y_noise`` batch-first ``(N, 1)`` discriminator outputs.
    """

    def batch_cost(self, y: Tensor, t: Tensor, cost_type: str | None = None) -> Tensor:
        """The batch-mean cost of ``cost_type`` as a 0-d device tensor (no host sync)."""
        y, t = self._views(y, t)
        with torch.no_grad():
            self.outputs = self.costfunc(y, t, cost_type or "dis")
            self._cost = self.outputs.mean()
        return self._cost

    def get_cost(self, y: Tensor, t: Tensor, cost_type: str | None = None) -> np.ndarray:
        """neon's ``get_cost(inputs, targets, cost_type)`` as a ``(1, 1)`` float32 array."""
        self.batch_cost(y, t, cost_type)
        return self.cost  # type: ignore[return-value]  # set by batch_cost
