"""What every recurrent layer shares: shapes, neon's packed ``W``, its seeded fill and state."""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import layout
from ...backends.backend import current_backend
from ...backends.tensor import Tensor as NeonTensor
from ...errors import LayerConfigError, ShapeMismatchError
from .._base import Layer, ParameterLayer, Shape

__all__ = [
    "LstmState",
    "RecurrentBase",
    "first_step_term",
    "interpret_in_shape",
    "lstm_step",
    "require_gate_activation",
    "sequence_input",
    "stack_steps",
]


def require_gate_activation(layer: Any, gate_activation: Any) -> Any:
    """``gate_activation`` after neon's check that a gated layer got one."""
    if gate_activation is None:
        raise LayerConfigError(
            f"{type(layer).__name__}: gate_activation is required (neon asserts it), got None; "
            "pass e.g. gate_activation=Logistic()."
        )
    return gate_activation


def interpret_in_shape(shape: Shape) -> tuple[int, int]:
    """neon's recurrent reading of a per-sample shape as ``(nin, nsteps)``.

    An int ``F`` is one step of F features, ``(F, T)`` is T steps, a longer shape such as
    ``(C, H, W)`` is ``C·H`` features over ``W`` steps.
    """
    if isinstance(shape, int):
        return shape, 1
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    return int(np.prod(shape[:-1])), int(shape[-1])


def sequence_input(layer: Layer, x: Tensor, nin: int, nsteps: int) -> Tensor:
    """``x`` as a ``(N, T, nin)`` sequence, or a :class:`ShapeMismatchError` naming the layer."""
    seq = layout.as_sequence(x, layer.in_shape)
    if seq.dim() != 3 or tuple(seq.shape[1:]) != (nsteps, nin):
        raise ShapeMismatchError(
            f"Layer {layer.name!r} ({type(layer).__name__}) was configured for sequences of "
            f"{nsteps} steps x {nin} features (batch-first (N, {nsteps}, {nin})), but received "
            f"a batch of shape {tuple(x.shape)}. Feed sequences of the length the model was "
            "initialized with, or build a new model for this length."
        )
    return seq


class PackedWeights(nn.Parameter):
    """A recurrent layer's packed ``W`` (neon's layout, which is also the torch parameter's):
    an ``nn.Parameter`` that also answers neon's Tensor calls ``get()``, ``set()`` and
    ``fill()``, so ``layer.W.get()`` reads it as in neon while torch code keeps using it as
    the parameter it is."""

    def __new__(cls, data: Tensor, requires_grad: bool = True) -> PackedWeights:
        return super().__new__(cls, data.detach(), requires_grad=requires_grad)

    def get(self) -> np.ndarray:
        """A numpy copy of the packed weights."""
        return self.detach().cpu().numpy().copy()

    def set(self, value: Any) -> PackedWeights:
        """Copy an array of the same size in (outside autograd)."""
        NeonTensor(self.detach()).set(value)
        return self

    def fill(self, value: float) -> PackedWeights:
        """Set every weight to ``value`` (outside autograd)."""
        NeonTensor(self.detach()).fill(value)
        return self


class RecurrentBase(ParameterLayer):
    """A layer with neon's packed recurrent weight ``W`` and a hidden state.

    neon semantics shared by ``Recurrent``, ``LSTM``, ``GRU`` and the bidirectional layers:

    * one parameter ``W`` of neon shape ``(D·(nin + nout + 1), G·nout)`` (``G`` gates, ``D``
      directions), kept in exactly that layout; the input, recurrent and bias blocks are
      C-order reshapes of row blocks (:func:`neon_torch.layout.recurrent_w_views`);
    * the seeded fill draws from ``be.rng`` one ``(nout, nin)`` block per gate for the input
      weights of each direction, then one ``(nout, nout)`` block per gate for the recurrent
      weights of each direction (with ``init_inner`` when given); biases start at 0;
    * ``out_shape = (D·nout, T)``; weight gradients are summed over batch and time.

    Shape:
        input ``(N, T, nin)`` (or a shape read by :func:`interpret_in_shape`);
        output ``(N, T, D·output_size)``.
    """

    ngates: ClassVar[int] = 1
    directions: ClassVar[int] = 1

    def __init__(
        self,
        output_size: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        reset_cells: bool = False,
        name: str | None = None,
        parallelism: str = "Unknown",
    ) -> None:
        super().__init__(init=init, name=name, parallelism=parallelism)
        if activation is None:
            raise LayerConfigError(
                f"{type(self).__name__}: activation is required (neon asserts it), got None; "
                "pass e.g. activation=Tanh()."
            )
        self.output_size = int(output_size)
        self.init_inner = init_inner
        self.activation = activation
        self.reset_cells = reset_cells
        self.W: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()
        self._state: tuple[Tensor, ...] | None = None
        self.init_state: Tensor | None = None  # the next call's first state, once (Seq2Seq)
        self._reads_data = False
        self._source: Any = None

    @property  # type: ignore[misc]  # computed here, never assigned
    def nout(self) -> int:  # neon's attribute: hidden units per direction
        return self.output_size

    @property
    def _nin_per_direction(self) -> int:
        return self.nin

    def configure(self, in_obj: Any) -> RecurrentBase:
        super().configure(in_obj)
        self._reads_data = not isinstance(in_obj, Layer)
        self.nin, self.nsteps = interpret_in_shape(self.in_shape)
        self.out_shape = (self.directions * self.output_size, self.nsteps)
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        if self._allocated:
            return
        nin, nout, d = self._nin_per_direction, self.output_size, self.directions
        w = np.zeros((d * (nin + nout + 1), self.ngates * nout), dtype=current_backend().datatype)
        views = layout.recurrent_w_views(w, nin, nout, self.ngates, d)
        inner = self.init if self.init_inner is None else self.init_inner
        blocks = [(v[0], self.init, nin) for v in views] + [(v[1], inner, nout) for v in views]
        for block, init, cols in blocks:
            for gate in range(self.ngates):
                rows = slice(gate * nout, (gate + 1) * nout)
                block[rows] = self._fill(init, (nout, cols))
        self.W = PackedWeights(self._new_parameter(w, layout.recurrent_w_to_torch))
        self._allocated = True

    # -- neon's views of the packed W (one direction) -------------------------------------
    def _packed_view(self, source: Tensor | None, part: int) -> NeonTensor | None:
        if source is None or self.directions != 1:
            return None
        w_in, w_rec, b = layout.recurrent_w_views(
            source.detach(), self._nin_per_direction, self.output_size, self.ngates
        )[0]
        return NeonTensor((w_in, w_rec, b.reshape(-1, 1))[part])

    @property
    def W_input(self) -> NeonTensor | None:
        """neon's ``W_input`` ``(G·nout, nin)``: a backend Tensor view of the packed ``W``
        (writes change the layer; None before allocation or for two directions)."""
        return self._packed_view(self.W, 0)

    @property
    def W_recur(self) -> NeonTensor | None:
        """neon's ``W_recur`` ``(G·nout, nout)`` view of the packed ``W``."""
        return self._packed_view(self.W, 1)

    @property
    def b(self) -> NeonTensor | None:
        """neon's bias ``b`` ``(G·nout, 1)`` view of the packed ``W``."""
        return self._packed_view(self.W, 2)

    @property
    def dW(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's packed gradient ``dW`` (``W.grad``) as a backend Tensor, or None."""
        grad = None if self.W is None else self.W.grad
        return None if grad is None else NeonTensor(grad)

    @property
    def dW_input(self) -> NeonTensor | None:
        """The ``W_input`` part of ``dW``."""
        return self._packed_view(None if self.W is None else self.W.grad, 0)

    @property
    def dW_recur(self) -> NeonTensor | None:
        """The ``W_recur`` part of ``dW``."""
        return self._packed_view(None if self.W is None else self.W.grad, 1)

    @property
    def db(self) -> NeonTensor | None:
        """The bias part of ``dW``."""
        return self._packed_view(None if self.W is None else self.W.grad, 2)

    @property
    def h(self) -> list[NeonTensor] | None:
        """neon's per-step hidden states of the last forward: ``nsteps`` backend Tensors
        ``(nout, N)`` (column blocks of ``outputs``), or None before a forward."""
        out = self.outputs
        if out is None:
            return None
        steps = self.out_shape[1]  # type: ignore[index]  # a sequence shape (F, T)
        n = out.shape[1] // steps
        return [out[:, t * n : (t + 1) * n] for t in range(steps)]

    def weights(self) -> list[tuple[Tensor, Tensor, Tensor]]:
        """``(W_input, W_recur, b)`` views of ``W`` per direction (torch ``weight_ih`` style)."""
        self._check_allocated()
        return layout.recurrent_w_views(
            self.W, self._nin_per_direction, self.output_size, self.ngates, self.directions
        )

    # -- state ------------------------------------------------------------------------------
    @property
    def carries_state(self) -> bool:
        """Whether a call starts from the previous call's last state (neon's default
        ``reset_cells=False``) instead of zeros."""
        return not self.reset_cells

    def reset_state(self) -> None:
        """Forget the carried hidden (and cell) state: the next call starts from zeros."""
        self._state = None

    def _carried(self, x: Tensor) -> tuple[Tensor, ...] | None:
        """The state a call on input ``x`` starts from, or None for zeros.

        neon semantics: stateful unless ``reset_cells=True`` — the last step's state of the
        previous call (training or inference) seeds step 0. neon also zeroes the state when a
        layer that reads the dataset directly gets another dataset's input buffer (e.g. from
        training to validation data); neon_torch sees that from the ``neon_source`` tag that
        iterators such as :class:`~neon_torch.data.Text` put on their minibatches. A different
        batch size (which neon cannot have) starts from zeros.
        """
        source = getattr(x, "neon_source", None)
        if self._reads_data and source is not None:
            if self._source is not None and self._source() is not source:
                self._state = None
            self._source = weakref.ref(source)
        state = self._state
        if self.reset_cells or state is None or state[0].shape[0] != x.shape[0]:
            return None
        return tuple(s.to(x.device) for s in state) if state[0].device != x.device else state

    def _begin(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, ...] | None, Tensor | None]:
        """What every recurrent forward starts with: ``(seq, carried, given)``, the input as a
        batch-first ``(N, T, nin)`` sequence, the carried state to start from (see
        :meth:`_carried`) and a Seq2Seq ``init_state`` set for this call (consumed here)."""
        seq = sequence_input(self, x, self.nin, self.nsteps)
        carried = self._carried(x)
        given, self.init_state = self.init_state, None
        return seq, carried, given

    def _keep(self, state: tuple[Tensor, ...]) -> None:
        self._state = tuple(s.detach() for s in state)

    # -- parameters -------------------------------------------------------------------------
    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.W]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.W}

    def __str__(self) -> str:
        return (
            f"Recurrent Layer '{self.name}': {getattr(self, 'nin', '?')} inputs, "
            f"{self.output_size} outputs, {getattr(self, 'nsteps', '?')} steps"
        )


def first_step_term(term: Tensor, first: bool) -> Tensor:
    """neon's truncated backpropagation at step 0 of a call with a carried state.

    The forward value is kept, but neon's backward treats the carried state as zero: the
    step-0 recurrent product adds nothing to ``dW_recur`` and the gates that multiply the
    carried state (LSTM's forget gate, GRU's reset and update gates) get no gradient from it.
    """
    return term.detach() if first else term


def stack_steps(steps: list[Tensor]) -> Tensor:
    """``T`` tensors ``(N, F)`` -> ``(N, T, F)``."""
    return torch.stack(steps, dim=1)


LstmState = tuple[Tensor, Tensor]


def lstm_step(
    a: Tensor,
    w_rec: Tensor,
    state: LstmState | None,
    act: Any,
    gate_act: Any,
    first: bool,
    h_given: bool = False,
) -> LstmState:
    """One step from the input projection ``a`` (bias included) and the previous state.

    ``h_given``: ``state[0]`` is a Seq2Seq ``init_state``: neon sends the step's error back
    into it but still adds nothing to ``dW_recur`` at step 0.
    """
    n = w_rec.shape[1]
    if state is not None:
        if h_given:
            a = a + F.linear(state[0], w_rec.detach())
        else:
            a = a + first_step_term(F.linear(state[0], w_rec), first)
    i, f, o = gate_act(a[:, : 3 * n]).split(n, dim=1)
    g = act(a[:, 3 * n :])
    c = i * g
    if state is not None:
        c = first_step_term(f * state[1], first) + c
    return o * act(c), c
