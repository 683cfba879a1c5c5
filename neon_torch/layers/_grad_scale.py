"""Scaling the gradient that flows back through a tensor (neon's branch ``alphas``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["applied_alpha", "scale_grad"]


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


def applied_alpha(first: Any, alpha: float, overwrites: bool, cpu: bool) -> float:
    """The alpha neon's CPU backend really applies to the input gradient a path writes, when
    ``first`` is the path's first layer and ``overwrites`` says the path writes the shared
    gradient buffer first (neon's ``beta=0``) instead of adding to it.

    The CPU matrix products of ``Linear``, ``Convolution`` and ``Deconvolution`` skip the
    alpha scaling when they overwrite (``beta=0``): that path's gradient arrives unscaled. Every
    other layer, and every other backend, applies ``alpha``.
    """
    from .convolution import Convolution, Deconvolution
    from .linear import Linear

    if cpu and overwrites and isinstance(first, (Linear, Convolution, Deconvolution)):
        return 1.0
    return float(alpha)
