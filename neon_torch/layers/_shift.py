"""neon's power-of-two arithmetic for binarized networks: ``AP2``, ``shift``, ``binarize`` and
the autograd functions built on them (straight-through weights, shift-based batch norm).

neon's ``AP2(a) = sign(a) * 2**rint(log2(max(|a|, e**-50)))`` rounds a value to the nearest
power of two keeping its sign; its "shift" ``x * AP2(a)`` stands for a bit shift.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["BinarizeWeights", "ShiftBatchNormFunction", "ap2", "binarize", "shift"]

_LOG_FLOOR = math.exp(-50.0)


def ap2(a: Tensor) -> Tensor:
    """neon's power-of-two approximation ``sign(a) * 2**rint(log2|a|)`` (0 stays 0)."""
    exponent = torch.round(torch.log(a.abs().clamp_min(_LOG_FLOOR)) / math.log(2.0))
    return torch.sign(a) * torch.exp2(exponent)


def shift(x: Tensor, a: Tensor) -> Tensor:
    """neon's ``be.shift(x, a)``: ``x * AP2(a)``."""
    return x * ap2(a)


def binarize(x: Tensor) -> Tensor:
    """neon's deterministic ``be.binarize``: +1 where ``x >= 0``, -1 elsewhere."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class BinarizeWeights(torch.autograd.Function):
    """Forward the binarized weights; backward hands their gradient to the real-valued
    weights unchanged (neon's ``dW = error · inputs^T`` with ``Wb`` in the forward)."""

    @staticmethod
    def forward(ctx: Any, w: Tensor) -> Tensor:
        return binarize(w)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad


class ShiftBatchNormFunction(torch.autograd.Function):
    """neon's shift-based batch normalization on a ``(C, M)`` view (statistics over ``M``).

    Forward: ``d = x - mean``, ``var = mean(d * AP2(d))``, ``xhat = d * AP2(1/sqrt(var + eps))``,
    ``y = xhat * AP2(gamma) + beta``. Backward (neon's, not the calculus one):
    ``g_gamma = Σ xhat·δ``, ``g_beta = Σ δ``,
    ``dx = (δ - (xhat·AP2(g_gamma) + g_beta) / M) · AP2(gamma) · AP2(1/sqrt(var + eps))``.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, gamma: Tensor, beta: Tensor, eps: float) -> Any:
        mean = x.mean(dim=1, keepdim=True)
        d = x - mean
        var = shift(d, d).mean(dim=1, keepdim=True)
        inv = ap2(1.0 / torch.sqrt(var + eps))
        xhat = d * inv
        gamma_p2 = ap2(gamma)
        ctx.save_for_backward(xhat, inv, gamma_p2)
        ctx.mark_non_differentiable(mean, var)
        return xhat * gamma_p2 + beta, mean, var

    @staticmethod
    def backward(ctx: Any, delta: Tensor, _mean: Any, _var: Any) -> Any:
        xhat, inv, gamma_p2 = ctx.saved_tensors
        grad_gamma = (xhat * delta).sum(dim=1, keepdim=True)
        grad_beta = delta.sum(dim=1, keepdim=True)
        xtmp = (shift(xhat, grad_gamma) + grad_beta) / float(xhat.shape[1])
        dx = (delta - xtmp) * gamma_p2 * inv
        return dx, grad_gamma, grad_beta, None
