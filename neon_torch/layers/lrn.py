"""neon's ``LRN`` layer (local response normalization across channels)."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import LayerConfigError
from ..registry import neon_type
from ._base import Layer
from ._geometry import image_spatial

__all__ = ["LRN"]


@neon_type("neon.layers.layer.LRN", "neon.layers.LRN")
class LRN(Layer):
    """Cross-channel local response normalization.

    neon semantics: for an odd window of ``depth`` channels centred on channel c,
    ``y[c] = x[c] / (1 + ascale / depth · Σ x[c']²) ** bpower``, channels outside the input
    counting as zero. ``alpha`` and ``beta`` are stored but unused, as in neon. This is
    ``torch.nn.functional.local_response_norm(size=depth, alpha=ascale, beta=bpower, k=1)``.

    Shape:
        input ``(N, C, H, W)`` (or with depth); output = input.
    """

    def __init__(
        self,
        depth: int,
        alpha: float = 1.0,
        beta: float = 0.0,
        ascale: float = 1.0,
        bpower: float = 1.0,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if not isinstance(depth, int) or depth < 1 or depth % 2 == 0:
            raise LayerConfigError(
                f"LRN {self.name!r}: depth must be an odd positive integer (the channel window "
                f"is centred), got {depth!r}."
            )
        self.depth = depth
        self.alpha = alpha
        self.beta = beta
        self.ascale = ascale
        self.bpower = bpower

    def configure(self, in_obj: Any) -> LRN:
        super().configure(in_obj)
        image_spatial(self.in_shape, f"LRN {self.name!r}")
        return self

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.depth, alpha=self.ascale, beta=self.bpower, k=1.0)

    def to_torch(self) -> nn.Module:
        """``nn.LocalResponseNorm(depth, alpha=ascale, beta=bpower, k=1)``."""
        return nn.LocalResponseNorm(self.depth, alpha=self.ascale, beta=self.bpower, k=1.0)
