"""Scaling the gradient that flows back through a tensor (neon's branch ``alphas``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["scale_grad"]


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; the backward multiplies the incoming gradient by ``alpha``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, alpha: float) -> Tensor:
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad * ctx.alpha, None


def scale_grad(x: Tensor, alpha: float) -> Tensor:
    """``x`` itself, with the gradient sent back through it scaled by ``alpha`` (a no-op for 1
    or when no gradient is recorded)."""
    if alpha == 1 or not torch.is_grad_enabled() or not x.requires_grad:
        return x
    return _ScaleGrad.apply(x, float(alpha))
