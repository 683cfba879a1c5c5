"""Bidirectional recurrent layers: ``BiRNN``, ``BiBNRNN``, ``BiLSTM``, ``BiSum`` and the stacked
``DeepBiRNN`` / ``DeepBiLSTM`` lists."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ...backends.backend import current_backend
from ...convert.modules import HalfSum
from ...errors import LayerConfigError
from ...registry import neon_builder, neon_type
from .._base import Layer
from ._base import RecurrentBase, interpret_in_shape, require_gate_activation, sequence_input
from ._delta_memory import unroll_updating_error
from ._torch import lstm_module, rnn_module, torch_weights
from .lstm import lstm_unroll
from .rnn import rnn_unroll, rnn_unroll_projected

__all__ = ["BiBNRNN", "BiLSTM", "BiRNN", "BiSum", "DeepBiLSTM", "DeepBiRNN"]


@neon_type("neon.layers.recurrent.BiRNN", "neon.layers.BiRNN")
class BiRNN(RecurrentBase):
    """Bidirectional Elman layer; output rows ``[forward h; backward h]`` (concatenated).

    neon semantics: the forward direction runs t = 0…T-1, the backward one t = T-1…0, each
    ``h = activation(W_in x_t + W_rec h_prev + b)``. Packed ``W`` of neon shape
    ``(2·(nin + nout + 1), nout)`` with row blocks ``[Wf_in; Wb_in; Wf_rec; Wb_rec; bf; bb]``.
    ``split_inputs=True`` feeds input features ``[:nin/2]`` forward and ``[nin/2:]`` backward
    (then the blocks have ``nin/2`` rows). Both directions start from zero states on every
    call: neon's input check resets them whenever the input already is a ``(nin, T·N)``
    sequence, which is how these layers are used; ``reset_cells`` is kept for descriptions.

    Shape:
        input ``(N, T, nin)``; output ``(N, T, 2·output_size)``.
    """

    directions = 2

    @property
    def carries_state(self) -> bool:
        return False  # both directions start from zeros on every call (see above)

    def __init__(
        self,
        output_size: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        reset_cells: bool = False,
        split_inputs: bool = False,
        name: str | None = None,
        parallelism: str = "Data",
    ) -> None:
        super().__init__(output_size, init, init_inner, activation, reset_cells, name, parallelism)
        self.split_inputs = split_inputs

    @property
    def _nin_per_direction(self) -> int:
        return self.nin // 2 if self.split_inputs else self.nin

    def configure(self, in_obj: Any) -> BiRNN:
        super().configure(in_obj)
        if self.split_inputs and self.nin % 2:
            raise LayerConfigError(
                f"{type(self).__name__} {self.name!r}: split_inputs=True needs an even number "
                f"of input features, got {self.nin}."
            )
        return self

    def _directions(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Inputs of the forward and (time-reversed) backward direction."""
        seq = sequence_input(self, x, self.nin, self.nsteps)
        half = self._nin_per_direction
        x_f, x_b = (seq[..., :half], seq[..., half:]) if self.split_inputs else (seq, seq)
        return x_f, x_b.flip(1)

    def _unroll(self, x: Tensor, weights: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        return rnn_unroll(x, *weights, self.activation, None)[0]

    def forward(self, x: Tensor) -> Tensor:
        x_f, x_b = self._directions(x)
        w_f, w_b = self.weights()
        return torch.cat([self._unroll(x_f, w_f), self._unroll(x_b, w_b).flip(1)], -1)

    def to_torch(self) -> nn.Module:
        """``nn.RNN(bidirectional=True)`` (batch-first, output sequence only) for Tanh /
        Rectlin, else :class:`~neon_torch.convert.modules.NeonRNN`; parameters ``*_l0`` are the
        forward direction, ``*_l0_reverse`` the backward one, output ``[forward; backward]``.
        ``split_inputs``: each direction's ``weight_ih`` is zero on the other half of the
        input features. Both directions start from zero states, as in neon.
        """
        return rnn_module(self, torch_weights(self, self.split_inputs), self.activation)

    def __str__(self) -> str:
        kind = type(self).__name__
        nin = getattr(self, "nin", 0)
        inputs = f"({nin // 2} inputs) * 2" if self.split_inputs else f"{nin} inputs"
        return (
            f"{kind} Layer '{self.name}': {inputs}, ({self.output_size} outputs) * 2, "
            f"{getattr(self, 'nsteps', '?')} steps"
        )


@neon_type("neon.layers.recurrent.BiLSTM", "neon.layers.BiLSTM")
class BiLSTM(BiRNN):
    """Bidirectional LSTM (gate order i, f, o, g per direction), output ``[forward; backward]``.

    neon semantics as :class:`BiRNN` with ``W`` of neon shape ``(2·(nin + nout + 1),
    4·nout)``; both directions start from zero ``h`` and ``c``. With ``Tanh()`` /
    ``Logistic()`` each direction runs in torch's fused LSTM kernel (``layer.fused = False``
    selects the step-by-step path).

    neon 2.6 quirk kept by default: with ``split_inputs=True`` (the second and later layers of a
    ``DeepBiLSTM``) the backward half of the input error is added to neon's shared error buffer
    without clearing it, so what other layers (and earlier minibatches) left in that memory
    leaks into the gradient; a ``Sequential`` holding such a layer simulates neon's buffers
    (see :mod:`neon_torch.layers.recurrent._delta_memory`). Set
    ``layer.neon_input_error = False`` on the split layers for the true gradient.

    Shape:
        input ``(N, T, nin)``; output ``(N, T, 2·output_size)``.
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
        split_inputs: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(output_size, init, init_inner, activation, reset_cells, split_inputs, name)
        self.gate_activation = require_gate_activation(self, gate_activation)
        self.fused = True
        self.neon_input_error = True
        self.delta_memory: Any = None  # weakref to the DeltaMemory of its Sequential

    def forward(self, x: Tensor) -> Tensor:
        memory = self.delta_memory() if self.delta_memory is not None else None
        if memory is None or not memory.updates_error_of(self):
            return super().forward(x)
        x_f, x_b = self._directions(x)
        (w_f, w_b), n = self.weights(), self.output_size

        def error() -> Tensor:
            return memory.error_view(self, x)

        acts = (self.activation, self.gate_activation, error)
        y_f, _ = unroll_updating_error(x_f, w_f, *acts, slice(0, n), reverse=False)
        y_b, _ = unroll_updating_error(x_b, w_b, *acts, slice(n, 2 * n), reverse=True)
        return torch.cat([y_f, y_b.flip(1)], -1)

    def _unroll(self, x: Tensor, weights: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        y, _ = lstm_unroll(x, weights, self.activation, self.gate_activation, None, self.fused)
        return y

    def to_torch(self) -> nn.Module:
        """``nn.LSTM(bidirectional=True)`` (batch-first, output sequence only) for Tanh /
        Logistic, else :class:`~neon_torch.convert.modules.NeonLSTM`; gates in torch's order,
        ``*_reverse`` the backward direction, ``bias_hh_l0*`` zero. ``split_inputs`` as
        :meth:`BiRNN.to_torch`. Both directions start from zero states, as in neon.
        """
        weights = torch_weights(self, self.split_inputs)
        return lstm_module(self, weights, self.activation, self.gate_activation)

    def __str__(self) -> str:
        return (
            f"BiLSTM Layer '{self.name}': {getattr(self, 'nin', '?')} inputs, "
            f"({self.output_size} outputs) * 2, {getattr(self, 'nsteps', '?')} steps"
        )


@neon_type("neon.layers.recurrent.BiBNRNN", "neon.layers.BiBNRNN")
class BiBNRNN(BiRNN):
    """:class:`BiRNN` with sequence-wise batch normalisation of the input projections.

    neon semantics: ``[Wf_in x; Wb_in x]`` (``2·nout`` features) is normalised over all
    ``T·N`` columns (biased variance, ``eps = 1e-3``, running statistics ``gmean``/``gvar``
    start at 0 and move with ``rho = 0.9``; inference uses them), scaled by ``gamma`` and
    shifted by ``beta``, before the recurrence adds ``b``. Optimized parameters: ``W``,
    ``beta``, ``gamma``. neon's quirks kept: the bias gradient is taken *after* the
    normalisation's backward (so it is about zero), and descriptions hold ``W``, ``gmean`` and
    ``gvar`` but not ``gamma``/``beta``.

    Shape:
        input ``(N, T, nin)``; output ``(N, T, 2·output_size)``.
    """

    def __init__(
        self,
        output_size: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        reset_cells: bool = False,
        split_inputs: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(output_size, init, init_inner, activation, reset_cells, split_inputs, name)
        self.rho = 0.9
        self.eps = 1e-3

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        if self._allocated:
            return
        super().allocate()
        be = current_backend()
        nf = 2 * self.output_size
        zeros = torch.zeros(nf, dtype=be.torch_dtype, device=be.device)
        self.beta = nn.Parameter(zeros.clone())
        self.gamma = nn.Parameter(torch.ones_like(zeros))
        self.register_buffer("gmean", zeros.clone())
        self.register_buffer("gvar", zeros.clone())

    def forward(self, x: Tensor) -> Tensor:
        x_f, x_b = self._directions(x)
        (wf_in, wf_rec, bf), (wb_in, wb_rec, bb) = self.weights()
        n = self.output_size
        # neon takes the bias gradient from the normalisation's input error: route it there
        # (``b - b.detach()`` is zero in value); the recurrence adds the bias value itself.
        proj = torch.cat(
            [x_f @ wf_in.T + (bf - bf.detach()), x_b @ wb_in.T + (bb - bb.detach())], -1
        )
        normed = self._normalize(proj)  # per feature over all steps: time order is irrelevant
        h_f, _ = rnn_unroll_projected(normed[..., :n] + bf.detach(), wf_rec, self.activation, None)
        h_b, _ = rnn_unroll_projected(normed[..., n:] + bb.detach(), wb_rec, self.activation, None)
        return torch.cat([h_f, h_b.flip(1)], dim=-1)

    def _normalize(self, h: Tensor) -> Tensor:
        cols = h.reshape(-1, h.shape[-1])
        if self.training:
            mean = cols.mean(0)
            var = cols.var(0, unbiased=False)
            with torch.no_grad():
                self.gmean.mul_(self.rho).add_((1.0 - self.rho) * mean)
                self.gvar.mul_(self.rho).add_((1.0 - self.rho) * var)
        else:
            mean, var = self.gmean, self.gvar
        return (h - mean) / torch.sqrt(var + self.eps) * self.gamma + self.beta

    def to_torch(self) -> nn.Module:
        """:meth:`BiRNN.to_torch` with the inference normalisation folded into the input
        weights: ``s = gamma / sqrt(gvar + eps)`` scales the rows of ``weight_ih`` and the bias
        becomes ``b + beta - s·gmean`` (the same affine map, up to float rounding).
        """
        scale = (self.gamma / torch.sqrt(self.gvar + self.eps)).detach()
        shift = (self.beta - scale * self.gmean).detach()
        n = self.output_size
        folded = [
            (w_ih * scale[d * n : (d + 1) * n, None], w_hh, b + shift[d * n : (d + 1) * n])
            for d, (w_ih, w_hh, b) in enumerate(torch_weights(self, self.split_inputs))
        ]
        return rnn_module(self, folded, self.activation)

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.W, self.beta, self.gamma]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.W, "gmean": self.gmean, "gvar": self.gvar}


@neon_type("neon.layers.recurrent.BiSum", "neon.layers.BiSum")
class BiSum(Layer):
    """Adds the forward and backward halves of a bidirectional output: ``x[:F/2] + x[F/2:]``.

    Shape:
        input ``(N, T, F)``; output ``(N, T, F/2)``.
    """

    def configure(self, in_obj: Any) -> BiSum:
        super().configure(in_obj)
        self.nin, self.nsteps = interpret_in_shape(self.in_shape)
        if self.nin % 2:
            raise LayerConfigError(
                f"BiSum {self.name!r}: the input needs an even number of features, got {self.nin}."
            )
        self.out_shape = (self.nin // 2, self.nsteps)
        return self

    def forward(self, x: Tensor) -> Tensor:
        seq = sequence_input(self, x, self.nin, self.nsteps)
        half = self.nin // 2
        return seq[..., :half] + seq[..., half:]

    def to_torch(self) -> nn.Module:
        """A :class:`~neon_torch.convert.modules.HalfSum`."""
        return HalfSum()

    def __str__(self) -> str:
        return "Sum layer to combine the forward and backward passes for BiRNN"


def _check_depth(depth: int) -> None:
    if depth <= 0:
        raise LayerConfigError(f"depth must be at least 1, got {depth}.")


@neon_builder("neon.layers.recurrent.DeepBiRNN")
class DeepBiRNN(list):
    """A list of stacked :class:`BiRNN` (``batch_norm=True``: :class:`BiBNRNN`) layers.

    neon semantics: the first layer reads the whole input; each further layer has
    ``split_inputs=True`` (its forward direction reads the previous forward features, its
    backward direction the backward ones), unless ``bi_sum=True``, which puts a
    :class:`BiSum` after every layer instead. Containers flatten the list.
    """

    def __init__(
        self,
        nout: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        reset_cells: bool = False,
        depth: int = 1,
        batch_norm: bool = False,
        bi_sum: bool = False,
    ) -> None:
        super().__init__()
        _check_depth(depth)
        kind = BiBNRNN if batch_norm else BiRNN
        for level in range(depth):
            split = level > 0 and not bi_sum
            self.append(kind(nout, init, init_inner, activation, reset_cells, split_inputs=split))
            if bi_sum:
                self.append(BiSum())


@neon_builder("neon.layers.recurrent.DeepBiLSTM")
class DeepBiLSTM(list):
    """A list of ``depth`` stacked :class:`BiLSTM` layers; the second and later ones have
    ``split_inputs=True``. Containers flatten the list."""

    def __init__(
        self,
        nout: int,
        init: Any,
        init_inner: Any = None,
        activation: Any = None,
        gate_activation: Any = None,
        reset_cells: bool = False,
        depth: int = 1,
    ) -> None:
        super().__init__()
        _check_depth(depth)
        for level in range(depth):
            self.append(
                BiLSTM(
                    nout,
                    init,
                    init_inner,
                    activation,
                    gate_activation,
                    reset_cells,
                    split_inputs=level > 0,
                )
            )
