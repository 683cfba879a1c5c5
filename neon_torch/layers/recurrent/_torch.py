"""Plain ``torch.nn`` modules for the recurrent layers (their ``to_torch``).

Standard modules wherever neon's math allows: ``nn.RNN`` for Tanh/Rectlin Elman layers and
``nn.LSTM`` for Tanh/Logistic LSTMs (both as the output-only subclasses in
:mod:`neon_torch.convert.modules`), else the small :class:`~neon_torch.convert.modules.NeonRNN`
/ :class:`~neon_torch.convert.modules.NeonLSTM` with the same parameter names. neon's single
bias becomes ``bias_ih_l0``; torch's second bias ``bias_hh_l0`` is zero. Every module starts
from zero states at each call: neon's carried state (``reset_cells=False``) is not part of it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ... import layout
from ...convert.modules import NeonLSTM, NeonRNN, SequenceLSTM, SequenceRNN
from ._base import RecurrentBase

__all__ = ["lstm_module", "rnn_module", "time_last", "torch_weights"]

_Weights = list[tuple[Tensor, Tensor, Tensor]]
_RNN_NONLINEARITY = {nn.Tanh: "tanh", nn.ReLU: "relu"}


def time_last(layer: Any) -> bool:
    """True when the layer reads an ``(N, ..., T)`` input such as an image as a sequence."""
    shape = layer.in_shape
    return isinstance(shape, tuple) and len(shape) > 2


def torch_weights(layer: RecurrentBase, split_inputs: bool = False) -> _Weights:
    """``(weight_ih, weight_hh, bias)`` copies per direction, in torch's gate order."""
    layer._check_allocated()
    return layout.recurrent_w_to_torch_gates(
        layer.W.detach(),
        layer.nin,
        layer.output_size,
        layer.ngates,
        layer.directions,
        split_inputs,
    )


def rnn_module(layer: RecurrentBase, weights: _Weights, activation: Any) -> nn.Module:
    """``SequenceRNN`` (``nn.RNN``) for Tanh / Rectlin (no slope), else ``NeonRNN``."""
    act = activation.to_torch()
    nonlinearity = _RNN_NONLINEARITY.get(type(act))
    sizes, options = _sizes_and_options(layer, weights)
    if nonlinearity is not None:
        return _load(SequenceRNN(*sizes, nonlinearity, **options), weights)
    return _load(NeonRNN(*sizes, act, **options), weights)


def lstm_module(
    layer: RecurrentBase, weights: _Weights, activation: Any, gate_activation: Any
) -> nn.Module:
    """``SequenceLSTM`` (``nn.LSTM``) for Tanh / Logistic, else ``NeonLSTM``."""
    act = activation.to_torch()
    gate = gate_activation.to_torch()
    sizes, options = _sizes_and_options(layer, weights)
    if type(act) is nn.Tanh and type(gate) is nn.Sigmoid:
        return _load(SequenceLSTM(*sizes, **options), weights)
    return _load(NeonLSTM(*sizes, act, gate, **options), weights)


def _sizes_and_options(layer: RecurrentBase, weights: _Weights) -> tuple[tuple[int, int], dict]:
    """``(input_size, hidden_size)`` and the ``bidirectional`` / ``time_last`` options."""
    options = {"bidirectional": len(weights) == 2, "time_last": time_last(layer)}
    return (layer.nin, layer.output_size), options


def _load(module: nn.Module, weights: _Weights) -> nn.Module:
    """Copy per-direction weights into ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``
    (``*_reverse`` for the second direction); ``bias_hh_l0`` becomes zero."""
    module.to(device=weights[0][0].device, dtype=weights[0][0].dtype)
    with torch.no_grad():
        for (w_ih, w_hh, bias), suffix in zip(weights, ("", "_reverse"), strict=False):
            getattr(module, "weight_ih_l0" + suffix).copy_(w_ih)
            getattr(module, "weight_hh_l0" + suffix).copy_(w_hh)
            getattr(module, "bias_ih_l0" + suffix).copy_(bias)
            getattr(module, "bias_hh_l0" + suffix).zero_()
    return module.eval()
