"""neon 2.6's shared error buffers, simulated where its numbers depend on them (stacked
``BiLSTM`` layers).

neon's ``Sequential`` gives the layers that own an input-error buffer (``deltas``) views of just
two global buffers, in turn: the first owner after the first layer gets buffer 0, the next owner
buffer 1, the next buffer 0 again, ... (the first layer, which reads the data, gets none;
``Bias``, ``Dropout``, ``Reshape`` and ``DataTransform`` own none). Every view starts at the
buffer's first element, so a layer's error buffer shares memory with the error buffers of the
owners two, four, ... places away. Most layers overwrite their whole view before it is read, so
this is invisible. Two things make it visible:

* a ``BiLSTM`` with ``split_inputs=True`` (every layer of a ``DeepBiLSTM`` after the first)
  writes the backward half of its input error with ``beta=1``: it *adds* to whatever the
  memory holds, which is what the last writer of those elements left there (possibly in an
  earlier minibatch);
* an ``LSTM``'s or ``BiLSTM``'s backward pass updates its incoming error in place:
  afterwards, time block ``t`` (of the forward half) holds the total error of ``h[t]`` (output
  error plus the recurrent error from step ``t+1``) and block ``t`` of the backward half that
  of ``h_b[t]``; the error of each direction's initial state wraps around into the other end
  (block ``T-1`` of the forward half, block 0 of the backward half).

:class:`DeltaMemory` keeps neon's two buffers (neon layout, flattened) for a ``Sequential``
holding a split ``BiLSTM``: during the backward pass every owner's input gradient is written to
its view (:func:`DeltaMemory.track`), a split ``BiLSTM``'s backward half is added to the memory
and the sum is what the layer below receives, and every ``BiLSTM`` and zero-state ``LSTM``
under an owner runs step by step with hooks that leave its in-place updates in the memory
(:func:`unroll_updating_error`). Forward values are unchanged. Not simulated: the in-place
updates of ``Recurrent``, ``GRU`` and of an ``LSTM`` call that starts from a carried state, and
split ``BiLSTM`` layers inside nested containers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ... import layout
from ._base import lstm_step, stack_steps

__all__ = ["DeltaMemory", "unroll_updating_error"]


def _owns_deltas(layer: Any) -> bool:
    from ..data_transform import DataTransform
    from ..dropout import Dropout
    from ..linear import Bias
    from ..reshape import Reshape

    return not isinstance(layer, (Bias, Dropout, Reshape, DataTransform))


class DeltaMemory:
    """neon's two error buffers of one ``Sequential`` (see the module docstring)."""

    def __init__(self, layers: list[Any]) -> None:
        owners = [layer for layer in layers[1:] if _owns_deltas(layer)]
        self.slot = {id(layer): i % 2 for i, layer in enumerate(owners)}
        self.buffers: list[Tensor | None] = [None, None]
        # the error a layer reads is the view of the next owner above it
        self.error_owner: dict[int, Any] = {}
        above = None
        for layer in reversed(layers):
            if above is not None:
                self.error_owner[id(layer)] = above
            if id(layer) in self.slot:
                above = layer

    def _buffer(self, slot: int, size: int, like: Tensor) -> Tensor:
        buf = self.buffers[slot]
        if buf is None or buf.numel() < size or buf.dtype != like.dtype:
            grown = like.new_zeros(size)
            if buf is not None:
                n = min(buf.numel(), size)
                grown[:n] = buf[:n].to(grown)
            self.buffers[slot] = buf = grown
        return buf

    def track(self, layer: Any, x: Tensor) -> Tensor:
        """``x`` (the input of ``layer``), writing ``layer``'s input error to its view in the
        backward pass when ``layer`` owns one."""
        if id(layer) not in self.slot or not x.requires_grad:
            return x
        return _WriteError.apply(x, self, layer)

    def write(self, layer: Any, grad: Tensor) -> Tensor:
        """Store ``grad`` (``layer``'s input error, batch-first) in its view; return the error
        neon hands to the layer below."""
        neon = layout.batch_first_to_neon(grad, layer.in_shape)
        rows = neon.shape[0]
        flat = neon.reshape(-1)
        buf = self._buffer(self.slot[id(layer)], flat.numel(), flat)
        if not _adds_backward_half(layer):
            buf[: flat.numel()] = flat
            return grad
        half = rows // 2 * neon.shape[1]
        buf[:half] = flat[:half]
        buf[half : flat.numel()] += flat[half:]
        view = buf[: flat.numel()].reshape(neon.shape)
        return layout.neon_to_batch_first(view.clone(), layer.in_shape)

    def updates_error_of(self, layer: Any) -> bool:
        """Whether ``layer``'s in-place updates of its incoming error must be kept now: while
        gradients are recorded, the error lives in the memory (an owner is above the layer)
        and some layer adds to the memory."""
        return torch.is_grad_enabled() and id(layer) in self.error_owner and self.active

    def error_view(self, layer: Any, like: Tensor) -> Tensor:
        """``layer``'s incoming error in the memory, neon layout ``(F, T·N)`` (``like``: a
        batch-first tensor of the batch)."""
        rows, steps = layer.out_shape
        size = rows * steps * like.shape[0]
        owner = self.error_owner[id(layer)]
        return self._buffer(self.slot[id(owner)], size, like)[:size].view(rows, -1)

    @property
    def active(self) -> bool:
        """Whether a layer adds to the memory (else every view is overwritten before use)."""
        return any(_adds_backward_half(layer) for layer in self.error_owner.values())


def _adds_backward_half(layer: Any) -> bool:
    return bool(getattr(layer, "split_inputs", False)) and getattr(layer, "neon_input_error", False)


class _WriteError(torch.autograd.Function):
    """Identity forward; backward stores the input error in neon's buffer and hands on what
    neon hands on."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, memory: DeltaMemory, layer: Any) -> Tensor:
        ctx.memory, ctx.layer = memory, layer
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return ctx.memory.write(ctx.layer, grad), None, None


def unroll_updating_error(
    x: Tensor,
    weights: tuple[Tensor, Tensor, Tensor],
    act: Any,
    gate_act: Any,
    error: Any,
    rows: slice,
    reverse: bool,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """One LSTM direction over ``x`` ``(N, T, nin)`` (time-reversed for the backward
    direction, ``reverse``), step by step from zero states, leaving neon's in-place updates of
    its incoming error in ``error()[rows]`` (the memory view, neon layout) during the backward
    pass: each step's total output error, and the initial state's error added at the far
    end. Returns the outputs ``(N, T, nout)`` and the last ``(h, c)``."""
    w_in, w_rec, b = weights
    n, steps = x.shape[0], x.shape[1]
    h0 = x.new_zeros(n, w_rec.shape[1], requires_grad=True)
    state = (h0, torch.zeros_like(h0))
    xp = F.linear(x, w_in, b)
    outs = []
    for p in range(steps):
        state = lstm_step(xp[:, p], w_rec, state, act, gate_act, False)
        outs.append(state[0])
        step = steps - 1 - p if reverse else p
        state[0].register_hook(_store(error, rows, _block(step, n), add=False))
    h0.register_hook(_store(error, rows, _block(0 if reverse else steps - 1, n), add=True))
    return stack_steps(outs), state


def _block(step: int, n: int) -> slice:
    return slice(step * n, (step + 1) * n)


def _store(error: Any, rows: slice, cols: slice, add: bool) -> Any:
    def hook(grad: Tensor) -> None:
        view = error()
        if add:
            view[rows, cols] += grad.T
        else:
            view[rows, cols] = grad.T

    return hook
