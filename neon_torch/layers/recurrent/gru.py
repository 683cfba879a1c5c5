"""neon's ``GRU``: gate order r, z, h̃, reset applied before the recurrent product."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...convert.modules import NeonGRU
from ...registry import neon_type
from ._base import RecurrentBase, first_step_term, require_gate_activation, stack_steps
from ._torch import time_last, torch_weights

__all__ = ["GRU", "gru_unroll"]


def _gru_step(
    a: Tensor, w_rec: Tensor, h: Tensor | None, act: Any, gate_act: Any, first: bool
) -> Tensor:
    """One GRU step from the input projection ``a`` (bias included) and ``h_{t-1}``."""
    n = w_rec.shape[1]
    a_rz, a_h = a[:, : 2 * n], a[:, 2 * n :]
    if h is None:  # zero state: every recurrent term vanishes
        z = gate_act(a_rz)[:, n:]
        return z * act(a_h)
    rz = gate_act(a_rz + first_step_term(F.linear(h, w_rec[: 2 * n]), first))
    r, z = rz[:, :n], rz[:, n:]
    h_can = act(a_h + first_step_term(F.linear(r * h, w_rec[2 * n :]), first))
    return first_step_term((1 - z) * h, first) + z * h_can


def gru_unroll(
    x: Tensor,
    weights: tuple[Tensor, Tensor, Tensor],
    act: Any,
    gate_act: Any,
    h: Tensor | None,
    truncate_first: bool = True,
) -> tuple[Tensor, Tensor]:
    """neon's GRU over ``x`` ``(N, T, nin)`` from ``h`` (None = zeros); returns the outputs
    ``(N, T, nout)`` and the last ``h``. ``truncate_first=False`` back-propagates through the
    step-0 state (a Seq2Seq decoder's ``init_state``)."""
    w_in, w_rec, b = weights
    xp = F.linear(x, w_in, b)
    outs = []
    for t in range(x.shape[1]):
        h = _gru_step(xp[:, t], w_rec, h, act, gate_act, t == 0 and truncate_first)
        outs.append(h)
    return stack_steps(outs), h  # type: ignore[return-value]  # h is set by the loop


@neon_type("neon.layers.recurrent.GRU", "neon.layers.GRU")
class GRU(RecurrentBase):
    """Gated recurrent unit with neon's gate order **r, z, h̃** and a single bias.

    neon semantics, with ``σ = gate_activation`` and ``φ = activation``::

        r = σ(Wx_r x_t + Wh_r h_{t-1} + b_r);   z = σ(Wx_z x_t + Wh_z h_{t-1} + b_z)
        h̃ = φ(Wx_h x_t + Wh_h (r·h_{t-1}) + b_h)      # reset before the recurrent product
        h_t = (1 - z)·h_{t-1} + z·h̃

    (``torch.nn.GRU`` differs in both places, so this runs step by step.) Packed ``W`` of
    neon shape ``(nin + nout + 1, 3·nout)``; stateful unless ``reset_cells=True``; truncated
    backpropagation: step 0 treats the carried state as zero in the backward pass. An
    ``init_state`` ``(N, nout)`` set before a call (neon's ``fprop(x, init_state=...)``, as
    :class:`~neon_torch.layers.Seq2Seq` does) starts that call instead, with the gradient
    flowing back into it.

    Shape:
        input ``(N, T, nin)``; output ``(N, T, output_size)``.
    """

    ngates = 3

    def __init__(
        self,
        output_size: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        gate_activation: Any = None,
        reset_cells: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(output_size, init, init_inner, activation, reset_cells, name)
        self.gate_activation = require_gate_activation(self, gate_activation)

    def forward(self, x: Tensor) -> Tensor:
        seq, carried, given = self._begin(x)
        h0 = None if carried is None else carried[0]
        if given is not None:
            h0 = given
        y, h = gru_unroll(
            seq, self.weights()[0], self.activation, self.gate_activation, h0, given is None
        )
        self._keep((h,))
        return y

    def to_torch(self) -> nn.Module:
        """A :class:`~neon_torch.convert.modules.NeonGRU` (``torch.nn.GRU`` computes another
        formula) with ``weight_ih``, ``weight_hh`` and neon's single ``bias``, gates r, z, n.
        Stateless: every call starts from ``h = 0`` (neon's carried state is not part of the
        plain module)."""
        ((w_ih, w_hh, bias),) = torch_weights(self)
        module = NeonGRU(
            self.nin,
            self.output_size,
            self.activation.to_torch(),
            self.gate_activation.to_torch(),
            time_last=time_last(self),
        ).to(device=w_ih.device, dtype=w_ih.dtype)
        with torch.no_grad():
            module.weight_ih.copy_(w_ih)
            module.weight_hh.copy_(w_hh)
            module.bias.copy_(bias)
        return module.eval()
