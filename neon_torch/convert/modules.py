"""Small self-contained torch modules for neon operations with no exact ``torch.nn`` twin.

They depend on nothing but torch, export with ``torch.export`` and hold their weights under
torch's usual names (``bias``, ``weight``, ``running_mean``, ...).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "DropDepth",
    "FeatureBias",
    "FlatSoftmax",
    "MergePaths",
    "NeonDropout",
    "NeonReshape",
    "PadPool",
    "Scale",
    "SequenceBatchNorm",
    "TreePaths",
]


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


# -- convolutional and container layers -----------------------------------------------------


class DropDepth(nn.Module):
    """Drops the depth axis of ``(N, C, 1, H, W)`` (neon's 3-D layers whose output depth is 1)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.squeeze(2)


class PadPool(nn.Module):
    """neon pooling where torch's own padding cannot express the windows: explicit padding
    ``pads`` (``F.pad`` order), then max / average over real cells only / l2."""

    def __init__(
        self, op: str, kernel: tuple[int, ...], stride: tuple[int, ...], pads: tuple[int, ...]
    ):
        super().__init__()
        self.op, self.kernel, self.stride, self.pads = op, tuple(kernel), tuple(stride), tuple(pads)

    def forward(self, x: Tensor) -> Tensor:
        three = len(self.kernel) == 3
        if self.op == "max":
            pool = nn.functional.max_pool3d if three else nn.functional.max_pool2d
            return pool(
                nn.functional.pad(x, self.pads, value=float("-inf")), self.kernel, self.stride
            )
        avg = nn.functional.avg_pool3d if three else nn.functional.avg_pool2d
        if self.op == "l2":
            sums = avg(nn.functional.pad(x * x, self.pads), self.kernel, self.stride)
            area = 1
            for k in self.kernel:
                area *= k
            return torch.sqrt(sums * area)
        ones = torch.ones_like(x[:1, :1])
        share = avg(nn.functional.pad(ones, self.pads), self.kernel, self.stride)
        return avg(nn.functional.pad(x, self.pads), self.kernel, self.stride) / share


class NeonReshape(nn.Module):
    """neon's ``Reshape``: samples read and written in neon's feature order; ``(N, T, F)``
    sequences are neon's ``(F, T)`` samples (``in_sequence`` / ``out_sequence``)."""

    def __init__(self, target: tuple[int, ...], in_sequence: bool, out_sequence: bool) -> None:
        super().__init__()
        self.target, self.in_sequence, self.out_sequence = tuple(target), in_sequence, out_sequence

    def forward(self, x: Tensor) -> Tensor:
        if self.in_sequence:
            x = x.transpose(1, 2)
        y = x.reshape(x.shape[0], *self.target)
        return y.transpose(1, 2) if self.out_sequence else y


class MergePaths(nn.Module):
    """Parallel paths over one input (or one input stream each, ``multistream``), merged by
    ``'sum'``, ``'stack'`` (flattened features; ``sequence[i]`` marks ``(N, T, F)`` outputs,
    flattened feature-major as neon does), ``'depth'`` (channels) or ``'recurrent'`` (time)."""

    def __init__(
        self, paths: list[nn.Module], merge: str, sequence: list[bool], multistream: bool = False
    ) -> None:
        super().__init__()
        self.paths = nn.ModuleList(paths)
        self.merge, self.sequence, self.multistream = merge, list(sequence), multistream

    def forward(self, x: Any) -> Tensor:
        if self.multistream:
            outs = [path(v) for path, v in zip(self.paths, x, strict=True)]
        else:
            outs = [path(x) for path in self.paths]
        if self.merge == "sum":
            y = outs[0]
            for out in outs[1:]:
                y = y + out
            return y
        if self.merge == "stack":
            flat = [
                (y.transpose(1, 2) if seq else y).reshape(y.shape[0], -1)
                for y, seq in zip(outs, self.sequence, strict=True)
            ]
            return torch.cat(flat, dim=1)
        return torch.cat(outs, dim=1)


class TreePaths(nn.Module):
    """A trunk cut into ``segments`` at its branch points and branches that start from the
    output of segment ``taps[i]``; returns ``[trunk, branch 1, ...]`` or, with
    ``trunk_only``, the trunk's output alone (neon's SingleOutputTree at inference)."""

    def __init__(
        self,
        segments: list[nn.Module],
        taps: list[int],
        branches: list[nn.Module],
        trunk_only: bool,
    ) -> None:
        super().__init__()
        self.segments = nn.ModuleList(segments)
        self.branches = nn.ModuleList(branches)
        self.taps, self.trunk_only = list(taps), trunk_only

    def forward(self, x: Tensor) -> Any:
        values = []
        for segment in self.segments:
            x = segment(x)
            values.append(x)
        if self.trunk_only:
            return x
        return [x] + [branch(values[i]) for branch, i in zip(self.branches, self.taps, strict=True)]
