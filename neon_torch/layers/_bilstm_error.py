"""neon 2.6's leaking input error of stacked ``BiLSTM`` layers, reproduced under autograd.

In neon, a ``BiLSTM`` with ``split_inputs=True`` (every layer of a ``DeepBiLSTM`` after the
first) writes the backward half of its input error into its delta buffer with ``beta=1``
(accumulate) and never clears it. That buffer is the error buffer of the ``BiLSTM`` below,
whose ``bprop`` updates it in place: after its backward direction, row block ``s`` holds the
*total* error of its backward state ``h_b[s]`` (output error plus the recurrent error from step
``s-1``), and block 0 additionally receives the error of the zero initial state (a
wrap-around). Nothing else touches that half, so the next minibatch's input error is added on
top of what is left.

neon_torch keeps the buffer contents in ``upper.carried_error`` (batch-first, the backward half
only): the upper layer's backward adds its new input error to it (:func:`carry_input_error`)
and the lower layer's backward direction, run step by step with hooks
(:func:`unroll_updating_error`), leaves its in-place updates there. Forward values are
unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ._recurrent import stack_steps
from .lstm import lstm_step

__all__ = ["carry_input_error", "unroll_updating_error"]


class _CarriedError(torch.autograd.Function):
    """Identity forward; backward hands on ``carried + error`` and keeps it as the carry."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, layer: Any) -> Tensor:
        ctx.layer = layer
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        layer = ctx.layer
        carried = layer.carried_error
        total = grad.clone() if carried is None or carried.shape != grad.shape else carried + grad
        layer.carried_error = total
        return total.clone(), None


def carry_input_error(x_b: Tensor, layer: Any) -> Tensor:
    """``x_b`` (the split layer's backward-half input, natural time order) with neon's leaking
    error in the backward pass."""
    return _CarriedError.apply(x_b, layer)


def unroll_updating_error(
    x: Tensor, weights: tuple[Tensor, Tensor, Tensor], act: Any, gate_act: Any, upper: Any
) -> Tensor:
    """The lower layer's backward direction over time-reversed ``x``, step by step, leaving
    neon's in-place error updates in ``upper.carried_error`` during the backward pass.

    Values and gradients are those of the zero-state LSTM; the zero initial state is a tensor
    here only so that its error can be read.
    """
    w_in, w_rec, b = weights
    steps = x.shape[1]
    h0 = x.new_zeros(x.shape[0], w_rec.shape[1], requires_grad=True)
    state = (h0, torch.zeros_like(h0))
    xp = F.linear(x, w_in, b)
    outs = []
    for p in range(steps):
        state = lstm_step(xp[:, p], w_rec, state, act, gate_act, False)
        outs.append(state[0])
        natural = steps - 1 - p
        if natural > 0:
            state[0].register_hook(_store_total_error(upper, natural))
    h0.register_hook(_add_initial_state_error(upper))
    return stack_steps(outs)


def _store_total_error(upper: Any, step: int) -> Any:
    def hook(grad: Tensor) -> None:
        if upper.carried_error is not None:
            upper.carried_error[:, step] = grad

    return hook


def _add_initial_state_error(upper: Any) -> Any:
    def hook(grad: Tensor) -> None:
        if upper.carried_error is not None:
            upper.carried_error[:, 0] += grad

    return hook
