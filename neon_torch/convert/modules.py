"""Small self-contained torch modules for neon operations with no exact ``torch.nn`` twin.

They depend on nothing but torch, export with ``torch.export`` and hold their weights under
torch's usual names (``bias``, ``weight``, ``running_mean``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "BinarySign",
    "ClippedRectlin",
    "DropDepth",
    "FeatureBias",
    "FlatSoftmax",
    "HalfSum",
    "MergePaths",
    "NeonDropout",
    "NeonGRU",
    "NeonLSTM",
    "NeonRNN",
    "NeonReshape",
    "PadPool",
    "Scale",
    "SequenceBatchNorm",
    "SequenceLSTM",
    "SequenceRNN",
    "TimeLast",
    "TimeMean",
    "TimeSum",
    "TokenEmbedding",
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


class BinarySign(nn.Module):
    """neon's Sign activation: +1 where ``x >= 0``, -1 elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class ClippedRectlin(nn.Module):
    """neon's Rectlinclip: ``min(max(x, 0) + slope * min(x, 0), xcut)``."""

    def __init__(self, slope: float, xcut: float) -> None:
        super().__init__()
        self.slope, self.xcut = float(slope), float(xcut)

    def forward(self, x: Tensor) -> Tensor:
        y = nn.functional.leaky_relu(x, self.slope) if self.slope else torch.relu(x)
        return torch.clamp(y, max=self.xcut)


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
    flattened feature-major as neon does), ``'depth'`` (channels) or ``'recurrent'`` (time; a
    non-sequence output is one step)."""

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
        if self.merge == "recurrent":  # a feature vector (N, F) is one time step
            outs = [
                y if seq else y.unsqueeze(1) for y, seq in zip(outs, self.sequence, strict=True)
            ]
        return torch.cat(outs, dim=1)


class TreePaths(nn.Module):
    """A trunk cut into ``segments`` at its branch points and branches that start from the
    output of segment ``taps[i]``; returns ``[trunk, branch 1, ...]`` or, with
    ``trunk_only``, the trunk's output alone (neon's SingleOutputTree at inference)."""

    def __init__(
        self,
        segments: Sequence[nn.Module],
        taps: list[int],
        branches: Sequence[nn.Module],
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


# -- recurrent layers ----------------------------------------------------------------------------
# Every recurrent module below is stateless: each call starts from zero hidden (and cell) states.
# neon's carried state (``reset_cells=False``) is not part of the plain module.


def _steps(x: Tensor, time_last: bool) -> Tensor:
    """``x`` as ``(N, T, F)``: a 2-D ``(N, F)`` input is one step; with ``time_last`` an
    ``(N, ..., T)`` input is T steps of ``prod(...)`` features (e.g. ``(N, C, H, W)`` ->
    ``(N, W, C·H)``)."""
    if time_last:
        return x.reshape(x.shape[0], -1, x.shape[-1]).transpose(1, 2)
    return x.unsqueeze(1) if x.dim() == 2 else x


class _ZeroStateMixin:
    """The fused-kernel call shared by :class:`SequenceRNN` and :class:`SequenceLSTM`.

    It passes the registered parameters themselves (not ``_flat_weights``, whose reassignment
    ``torch.export`` reports as a warning) and a zero initial state.
    """

    hidden_size: int
    bidirectional: bool
    training: bool
    _flat_weights_names: list[str]

    def _zero_state(self, x: Tensor) -> Tensor:
        return x.new_zeros(2 if self.bidirectional else 1, x.shape[0], self.hidden_size)

    def _run(self, kernel: Any, x: Tensor, state: Any) -> Tensor:
        """The output sequence of torch's one-layer, batch-first ``kernel`` from ``state``."""
        weights = [getattr(self, name) for name in self._flat_weights_names]
        return kernel(x, state, weights, True, 1, 0.0, self.training, self.bidirectional, True)[0]


class SequenceRNN(_ZeroStateMixin, nn.RNN):
    """``nn.RNN(batch_first=True)`` (one layer, ``nonlinearity`` ``'tanh'`` or ``'relu'``)
    that returns only the output sequence ``(N, T, D·H)``, from a zero state.

    Shape:
        input ``(N, T, input_size)`` (see ``time_last``); output ``(N, T, D·hidden_size)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        bidirectional: bool = False,
        time_last: bool = False,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            nonlinearity=nonlinearity,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.time_last = time_last

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]  # one-tensor forward
        x = _steps(x, self.time_last)
        kernel = torch.rnn_tanh if self.nonlinearity == "tanh" else torch.rnn_relu
        return self._run(kernel, x, self._zero_state(x))


class SequenceLSTM(_ZeroStateMixin, nn.LSTM):
    """``nn.LSTM(batch_first=True)`` (one layer) that returns only the output sequence
    ``(N, T, D·H)``, from zero ``h`` and ``c``.

    Shape:
        input ``(N, T, input_size)`` (see ``time_last``); output ``(N, T, D·hidden_size)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bidirectional: bool = False,
        time_last: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.time_last = time_last

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]  # one-tensor forward
        x = _steps(x, self.time_last)
        zeros = self._zero_state(x)
        return self._run(torch.lstm, x, (zeros, zeros))


class _Recurrence(nn.Module):
    """A recurrence unrolled in Python with ``nn.RNN``'s parameter names and layouts
    (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``*_reverse`` for
    the backward direction), so its state dict loads into the matching ``torch.nn`` module.
    The backward direction reads the sequence time-reversed; outputs are ``[forward;
    backward]`` features."""

    ngates = 1

    def __init__(
        self, input_size: int, hidden_size: int, bidirectional: bool, time_last: bool
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.time_last = time_last
        self._suffixes = ("", "_reverse") if bidirectional else ("",)
        rows = self.ngates * hidden_size
        for suffix in self._suffixes:
            for name, shape in (
                ("weight_ih_l0", (rows, input_size)),
                ("weight_hh_l0", (rows, hidden_size)),
                ("bias_ih_l0", (rows,)),
                ("bias_hh_l0", (rows,)),
            ):
                self.register_parameter(name + suffix, nn.Parameter(torch.zeros(shape)))

    def forward(self, x: Tensor) -> Tensor:
        x = _steps(x, self.time_last)
        outs = []
        for suffix in self._suffixes:
            bias = getattr(self, "bias_ih_l0" + suffix) + getattr(self, "bias_hh_l0" + suffix)
            xp = nn.functional.linear(x, getattr(self, "weight_ih_l0" + suffix), bias)
            reverse = suffix == "_reverse"
            y = self._unroll(xp.flip(1) if reverse else xp, getattr(self, "weight_hh_l0" + suffix))
            outs.append(y.flip(1) if reverse else y)
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]

    def _unroll(self, xp: Tensor, w_hh: Tensor) -> Tensor:
        raise NotImplementedError


class NeonRNN(_Recurrence):
    """Elman recurrence ``h_t = activation(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with any
    activation module (``nn.RNN`` covers only tanh and relu), from ``h_{-1} = 0``.

    Shape:
        input ``(N, T, input_size)``; output ``(N, T, D·hidden_size)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        activation: nn.Module,
        bidirectional: bool = False,
        time_last: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size, bidirectional, time_last)
        self.activation = activation

    def _unroll(self, xp: Tensor, w_hh: Tensor) -> Tensor:
        h = xp.new_zeros(xp.shape[0], self.hidden_size)
        outs = []
        for t in range(xp.shape[1]):
            h = self.activation(xp[:, t] + nn.functional.linear(h, w_hh))
            outs.append(h)
        return torch.stack(outs, dim=1)


class NeonLSTM(_Recurrence):
    """LSTM with any cell and gate activation modules (``nn.LSTM`` fixes tanh and sigmoid),
    ``nn.LSTM``'s gate order i, f, g, o and parameter names, from zero ``h`` and ``c``::

        i, f, o = gate(a_i), gate(a_f), gate(a_o);  g = act(a_g)
        c_t = f·c_{t-1} + i·g;  h_t = o·act(c_t)

    Shape:
        input ``(N, T, input_size)``; output ``(N, T, D·hidden_size)``.
    """

    ngates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        activation: nn.Module,
        gate_activation: nn.Module,
        bidirectional: bool = False,
        time_last: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size, bidirectional, time_last)
        self.activation = activation
        self.gate_activation = gate_activation

    def _unroll(self, xp: Tensor, w_hh: Tensor) -> Tensor:
        h = c = xp.new_zeros(xp.shape[0], self.hidden_size)
        outs = []
        for t in range(xp.shape[1]):
            i, f, g, o = (xp[:, t] + nn.functional.linear(h, w_hh)).chunk(4, dim=1)
            c = self.gate_activation(f) * c + self.gate_activation(i) * self.activation(g)
            h = self.gate_activation(o) * self.activation(c)
            outs.append(h)
        return torch.stack(outs, dim=1)


class NeonGRU(nn.Module):
    """neon's GRU, gate order r, z, n (torch's), parameters ``weight_ih`` ``(3H, F)``,
    ``weight_hh`` ``(3H, H)`` and one ``bias`` ``(3H,)``, from ``h_{-1} = 0``::

        r = gate(W_ir x + b_r + W_hr h);  z = gate(W_iz x + b_z + W_hz h)
        n = act(W_in x + b_n + W_hn (r·h))     # reset before the product (torch: after)
        h_t = (1 - z)·h_{t-1} + z·n             # torch: (1 - z)·n + z·h_{t-1}

    Shape:
        input ``(N, T, input_size)``; output ``(N, T, hidden_size)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        activation: nn.Module,
        gate_activation: nn.Module,
        time_last: bool = False,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.time_last = time_last
        self.weight_ih = nn.Parameter(torch.zeros(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.zeros(3 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.zeros(3 * hidden_size))
        self.activation = activation
        self.gate_activation = gate_activation

    def forward(self, x: Tensor) -> Tensor:
        xp = nn.functional.linear(_steps(x, self.time_last), self.weight_ih, self.bias)
        n = self.hidden_size
        h = xp.new_zeros(xp.shape[0], n)
        outs = []
        for t in range(xp.shape[1]):
            a = xp[:, t]
            r, z = self.gate_activation(
                a[:, : 2 * n] + nn.functional.linear(h, self.weight_hh[: 2 * n])
            ).chunk(2, dim=1)
            cand = self.activation(
                a[:, 2 * n :] + nn.functional.linear(r * h, self.weight_hh[2 * n :])
            )
            h = (1 - z) * h + z * cand
            outs.append(h)
        return torch.stack(outs, dim=1)


class _TimeCollapse(nn.Module):
    """Base of the modules that collapse the time axis of ``(N, T, F)`` to ``(N, F)``."""

    def __init__(self, time_last: bool = False) -> None:
        super().__init__()
        self.time_last = time_last

    def forward(self, x: Tensor) -> Tensor:
        return self._collapse(_steps(x, self.time_last))

    def _collapse(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class TimeSum(_TimeCollapse):
    """Sum over time. Shape: input ``(N, T, F)``; output ``(N, F)``."""

    def _collapse(self, x: Tensor) -> Tensor:
        return x.sum(dim=1)


class TimeMean(_TimeCollapse):
    """Mean over time, as neon computes it: each step scaled by ``1/T``, then summed.
    Shape: input ``(N, T, F)``; output ``(N, F)``."""

    def _collapse(self, x: Tensor) -> Tensor:
        return (x * (1.0 / x.shape[1])).sum(dim=1)


class TimeLast(_TimeCollapse):
    """The last time step. Shape: input ``(N, T, F)``; output ``(N, F)``."""

    def _collapse(self, x: Tensor) -> Tensor:
        return x[:, -1]


class HalfSum(nn.Module):
    """``x[..., :F/2] + x[..., F/2:]``: the two directions of a bidirectional output added.

    Shape:
        input ``(N, T, F)``; output ``(N, T, F/2)``.
    """

    def forward(self, x: Tensor) -> Tensor:
        half = x.shape[-1] // 2
        return x[..., :half] + x[..., half:]


class TokenEmbedding(nn.Embedding):
    """``nn.Embedding`` that takes ``(N, L)`` (or ``(N, 1, L)``) token ids of any numeric
    dtype (floats are truncated, as neon does) and returns ``(N, L, embedding_dim)``."""

    def forward(self, ids: Tensor) -> Tensor:
        return super().forward(ids.reshape(ids.shape[0], -1).long())
