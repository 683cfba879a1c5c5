"""neon's basic (Elman) recurrent layer ``Recurrent``."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import neon_type
from ._base import RecurrentBase, first_step_term, stack_steps
from ._torch import rnn_module, torch_weights

__all__ = ["Recurrent", "rnn_unroll", "rnn_unroll_projected"]


def rnn_unroll(
    x: Tensor, w_in: Tensor, w_rec: Tensor, b: Tensor, activation: Any, h: Tensor | None
) -> tuple[Tensor, Tensor]:
    """``h_t = act(W_in x_t + W_rec h_{t-1} + b)`` over ``x`` ``(N, T, nin)``.

    ``h`` is the carried state (None = zeros); returns the outputs ``(N, T, nout)`` and the
    last state. Step 0's recurrent term is truncated as neon does (:func:`first_step_term`).
    """
    return rnn_unroll_projected(F.linear(x, w_in, b), w_rec, activation, h)


def rnn_unroll_projected(
    xp: Tensor, w_rec: Tensor, activation: Any, h: Tensor | None
) -> tuple[Tensor, Tensor]:
    """:func:`rnn_unroll` from the input projections ``xp = W_in x + b`` ``(N, T, nout)``."""
    outs = []
    for t in range(xp.shape[1]):
        a = xp[:, t]
        if h is not None:
            a = a + first_step_term(F.linear(h, w_rec), t == 0)
        h = activation(a)
        outs.append(h)
    return stack_steps(outs), h  # type: ignore[return-value]  # h is set by the loop


@neon_type("neon.layers.recurrent.Recurrent", "neon.layers.Recurrent")
class Recurrent(RecurrentBase):
    """Elman recurrent layer: ``h_t = activation(W_input x_t + W_recur h_{t-1} + b)``.

    neon semantics: packed ``W`` of neon shape ``(nin + nout + 1, nout)``; ``activation`` is
    required; stateful unless ``reset_cells=True`` (the last step's ``h`` of one call is
    ``h_{-1}`` of the next, across minibatches and from ``fit`` into ``eval``); truncated
    backpropagation: the carried state is a constant and step 0 adds nothing to
    ``dW_recur``.

    Shape:
        input ``(N, T, nin)``; output ``(N, T, output_size)``.
    """

    def __init__(
        self,
        output_size: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        reset_cells: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(output_size, init, init_inner, activation, reset_cells, name)

    def forward(self, x: Tensor) -> Tensor:
        seq, carried, _ = self._begin(x)
        w_in, w_rec, b = self.weights()[0]
        h0 = None if carried is None else carried[0]
        y, h = rnn_unroll(seq, w_in, w_rec, b, self.activation, h0)
        self._keep((h,))
        return y

    def to_torch(self) -> nn.Module:
        """``nn.RNN`` (batch-first, output sequence only) for Tanh / Rectlin, else
        :class:`~neon_torch.convert.modules.NeonRNN`; neon's bias is ``bias_ih_l0`` and
        ``bias_hh_l0`` is zero. Stateless: every call starts from ``h = 0`` (neon's carried
        state is not part of the plain module)."""
        return rnn_module(self, torch_weights(self), self.activation)
