"""neon's ``LSTM``: gate order i, f, o, g, one bias, pluggable activations, a fused fast path."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import layout
from ...registry import neon_type
from ...transforms.activation import Logistic, Tanh
from ._base import LstmState, RecurrentBase, lstm_step, require_gate_activation, stack_steps
from ._delta_memory import unroll_updating_error
from ._torch import lstm_module, torch_weights

__all__ = ["LSTM", "lstm_step", "lstm_unroll"]


def _can_fuse(act: Any, gate_act: Any) -> bool:
    """torch's LSTM kernel computes exactly neon's cell for Tanh / plain Logistic."""
    return type(act) is Tanh and type(gate_act) is Logistic and not gate_act.shortcut


def _fused(
    x: Tensor, w_in: Tensor, w_rec: Tensor, b: Tensor, state: LstmState
) -> tuple[Tensor, LstmState]:
    """torch's fused (cuDNN on CUDA) LSTM with neon's weights, gates reordered to i, f, g, o."""
    params = [layout.lstm_gates_to_torch(w) for w in (w_in, w_rec, b)]
    params.append(torch.zeros_like(params[2]))  # torch adds a second bias; neon has one
    hx = (state[0].unsqueeze(0), state[1].unsqueeze(0))
    with warnings.catch_warnings():  # cuDNN asks for one flat weight buffer; ours are views
        warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
        y, h, c = torch._VF.lstm(x, hx, params, True, 1, 0.0, torch.is_grad_enabled(), False, True)
    return y, (h[0], c[0])


def lstm_unroll(
    x: Tensor,
    weights: tuple[Tensor, Tensor, Tensor],
    act: Any,
    gate_act: Any,
    state: LstmState | None,
    fused: bool = True,
    h_given: bool = False,
) -> tuple[Tensor, LstmState]:
    """neon's LSTM over ``x`` ``(N, T, nin)`` from ``state`` (``(h, c)`` or None = zeros).

    Returns the outputs ``(N, T, nout)`` and the last ``(h, c)``. ``h_given``: ``state[0]``
    is a Seq2Seq ``init_state`` (see :func:`lstm_step`). With Tanh/Logistic and
    ``fused=True`` the steps run in torch's fused kernel; a carried state's step 0 runs here
    first, because neon truncates its backward (see :func:`first_step_term`).
    """
    w_in, w_rec, b = weights
    if fused and _can_fuse(act, gate_act):
        first: list[Tensor] = []
        if state is not None:
            state = lstm_step(
                F.linear(x[:, 0], w_in, b), w_rec, state, act, gate_act, True, h_given
            )
            first, x = [state[0].unsqueeze(1)], x[:, 1:]
            if x.shape[1] == 0:
                return first[0], state
        else:
            zeros = x.new_zeros(x.shape[0], w_rec.shape[1])
            state = (zeros, zeros)
        y, state = _fused(x, w_in, w_rec, b, state)
        return (torch.cat([*first, y], dim=1) if first else y), state
    xp = F.linear(x, w_in, b)
    outs = []
    for t in range(x.shape[1]):
        state = lstm_step(xp[:, t], w_rec, state, act, gate_act, t == 0, h_given and t == 0)
        outs.append(state[0])
    return stack_steps(outs), state  # type: ignore[return-value]  # the (h, c) pair


@neon_type("neon.layers.recurrent.LSTM", "neon.layers.LSTM")
class LSTM(RecurrentBase):
    """Long short-term memory with neon's gate order **i, f, o, g** and a single bias.

    neon semantics, with ``σ = gate_activation`` and ``φ = activation`` (both required)::

        a = W_input x_t + W_recur h_{t-1} + b      # rows i, f, o, g (nout each)
        i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = φ(a_g)
        c_t = f·c_{t-1} + i·g;             h_t = o·φ(c_t)

    Packed ``W`` of neon shape ``(nin + nout + 1, 4·nout)``; the bias starts at 0 (no forget
    bias). Stateful unless ``reset_cells=True`` (``h`` and ``c`` carry over between calls);
    truncated backpropagation as neon: the carried state is a constant, step 0 adds nothing to
    ``dW_recur`` and its forget gate gets no gradient. An ``init_state`` ``(N, nout)`` set
    before a call (neon's ``fprop(x, init_state=...)``, as Seq2Seq does) replaces ``h`` at
    step 0 and receives its error; ``c`` stays the carried cell (zero with ``reset_cells``).

    With ``Tanh()`` / ``Logistic()`` the steps run in torch's fused LSTM kernel (cuDNN on
    CUDA) with the gates reordered; set ``layer.fused = False`` for the step-by-step path.

    Shape:
        input ``(N, T, nin)``; output ``(N, T, output_size)``.
    """

    ngates = 4

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
        self.fused = True
        self.delta_memory: Any = None  # weakref to neon's simulated error buffers, if any

    def forward(self, x: Tensor) -> Tensor:
        seq, carried, given = self._begin(x)
        if given is not None:  # neon sets h only; c is carried (or zero with reset_cells)
            carried = (given, torch.zeros_like(given) if carried is None else carried[1])
        memory = self.delta_memory() if self.delta_memory is not None else None
        if carried is None and memory is not None and memory.updates_error_of(self):

            def error() -> Tensor:
                return memory.error_view(self, x)

            y, state = unroll_updating_error(
                seq,
                self.weights()[0],
                self.activation,
                self.gate_activation,
                error,
                slice(0, self.output_size),
                reverse=False,
            )
        else:
            y, state = lstm_unroll(
                seq,
                self.weights()[0],
                self.activation,
                self.gate_activation,
                carried,  # type: ignore[arg-type]  # an LSTM carries (h, c)
                self.fused,
                given is not None,
            )
        self._keep(state)
        return y

    def to_torch(self) -> nn.Module:
        """``nn.LSTM`` (batch-first, output sequence only) for Tanh / Logistic, else
        :class:`~neon_torch.convert.modules.NeonLSTM`: gates reordered to torch's i, f, g, o,
        neon's bias as ``bias_ih_l0``, ``bias_hh_l0`` zero. Stateless: every call starts from
        zero ``h`` and ``c`` (neon's carried state is not part of the plain module)."""
        return lstm_module(self, torch_weights(self), self.activation, self.gate_activation)
