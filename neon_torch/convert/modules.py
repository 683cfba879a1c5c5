"""Small self-contained torch modules for neon operations with no exact ``torch.nn`` twin.

They depend on nothing but torch, export with ``torch.export`` and hold their weights under
torch's usual names (``bias``, ``weight``, ``running_mean``, ...).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["FeatureBias", "FlatSoftmax", "NeonDropout", "Scale", "SequenceBatchNorm"]


class FeatureBias(nn.Module):
    """``x + bias`` over axis 1 (features, or channels of ``(N, C, ...)`` images) or, for
    ``(N, T, F)`` sequences, over the last axis."""

    def __init__(self, bias: Tensor, sequence: bool = False) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias.detach().clone())
        self.sequence = sequence

    def forward(self, x: Tensor) -> Tensor:
        if self.sequence or x.dim() == 2:
            return x + self.bias
        return x + self.bias.view(-1, *([1] * (x.dim() - 2)))


class Scale(nn.Module):
    """``x * factor`` (neon's Normalizer and inference-time Dropout)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.factor


class NeonDropout(nn.Module):
    """neon's non-inverted dropout: training ``x * mask``, inference ``x * keep``
    (that is ``keep`` times torch's inverted dropout in both modes)."""

    def __init__(self, keep: float) -> None:
        super().__init__()
        self.keep = float(keep)

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.dropout(x, 1.0 - self.keep, self.training) * self.keep


class FlatSoftmax(nn.Module):
    """Softmax over all features of each sample (neon's over ``C·H·W`` for images)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(x.reshape(x.shape[0], -1), dim=1).reshape(x.shape)


class SequenceBatchNorm(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` applied per feature of ``(N, T, F)`` sequences."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)
