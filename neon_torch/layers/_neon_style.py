"""Layers written against neon's own extension API run inside torch's autograd.

A neon layer subclass implements ``fprop(inputs, inference)`` and ``bprop(error)`` on backend
:class:`~neon_torch.backends.tensor.Tensor` buffers in neon's ``(features, batch)`` layout,
and a parameter layer writes its weight gradients into ``self.dW``. :class:`NeonLayerFunction`
makes such a layer one node of torch's graph: its forward hands the layer a neon-layout copy of
the batch-first input and returns a batch-first copy of ``self.outputs``; its backward hands
the layer the incoming gradient as neon's ``error`` (summed over the batch, neon's gradient
convention), returns the layer's deltas as the input gradient and the contents of each ``dW``
as the gradient of the matching parameter. The user's ``bprop`` is what back-propagates.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..backends.tensor import Tensor as NeonTensor
from ..errors import LayerConfigError, ShapeMismatchError
from ..layout import batch_first_to_neon, neon_to_batch_first

__all__ = ["NeonLayerFunction", "neon_param_pairs", "register_neon_params"]


def _neon_copy(x: Tensor, shape: Any) -> NeonTensor:
    """A batch-first tensor as a fresh contiguous neon ``(features, batch)`` Tensor."""
    return NeonTensor(
        batch_first_to_neon(x.detach(), shape).clone(memory_format=torch.contiguous_format)
    )


def _batch_first(value: Any, shape: Any, layer: Any, what: str) -> Tensor:
    """A neon-layout result of ``layer`` as a batch-first copy (the layer reuses its buffers)."""
    t = value.torch if isinstance(value, NeonTensor) else value
    if not isinstance(t, Tensor):
        raise LayerConfigError(
            f"Layer {layer.name!r} ({type(layer).__name__}).{what} returned "
            f"{type(value).__name__}; expected a backend Tensor in neon's (features, batch) "
            "layout."
        )
    try:
        return neon_to_batch_first(t.detach(), shape).clone(memory_format=torch.contiguous_format)
    except RuntimeError:
        raise ShapeMismatchError(
            f"Layer {layer.name!r} ({type(layer).__name__}).{what} returned a tensor of shape "
            f"{tuple(t.shape)}, which does not hold samples of shape {shape}; check its "
            "configure() (out_shape) and its buffers."
        ) from None


def neon_param_pairs(layer: Any) -> list[tuple[NeonTensor, Any]]:
    """``[(W, dW), ...]`` from the layer's neon ``get_params()`` (one tuple or a list)."""
    params = layer.get_params()
    entries = params if isinstance(params, list) else [params]
    return [pair for pair, _states in entries]


def register_neon_params(layer: Any) -> None:
    """Register every ``W`` of ``layer.get_params()`` as an ``nn.Parameter`` sharing its
    storage (``weight``, ``weight_1``, ...), so torch optimizers, ``state_dict()`` and
    ``model.module.parameters()`` see the layer's weights."""
    registered: list[nn.Parameter] = []
    for i, (w, _dw) in enumerate(neon_param_pairs(layer)):
        if not isinstance(w, NeonTensor):
            raise LayerConfigError(
                f"Layer {layer.name!r} ({type(layer).__name__}).get_params() holds a "
                f"{type(w).__name__} weight; expected backend Tensors (self.be.empty(...))."
            )
        name = "weight" if i == 0 else f"weight_{i}"
        current = layer._parameters.get(name)
        if current is None or current.data_ptr() != w.torch.data_ptr():
            param = nn.Parameter(w.torch.detach())  # shares w's storage
            layer._parameters[name] = param
            current = param
        registered.append(current)
    layer._neon_registered = registered


class NeonLayerFunction(torch.autograd.Function):
    """Runs a neon-style layer's ``fprop`` forward and its ``bprop`` backward (see module)."""

    @staticmethod
    def forward(ctx: Any, layer: Any, x: Tensor, *params: Tensor) -> Tensor:
        ctx.layer = layer
        inputs = _neon_copy(x, layer.in_shape)
        out = layer.fprop(inputs, inference=not layer.training)
        return _batch_first(out, layer.out_shape, layer, "fprop").to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Any, ...]:
        layer = ctx.layer
        error = _neon_copy(grad, layer.out_shape)
        deltas = layer.bprop(error)
        grad_x = None
        if ctx.needs_input_grad[1] and (deltas is not None or layer.prev_layer is not None):
            # neon's first layer computes no input error (its deltas stay None)
            if deltas is None:
                raise LayerConfigError(
                    f"Layer {layer.name!r} ({type(layer).__name__}).bprop returned None, but "
                    "the layer below needs its input error; return the deltas (neon: "
                    "self.deltas) from bprop."
                )
            grad_x = _batch_first(deltas, layer.in_shape, layer, "bprop").to(grad.dtype)
        grads: list[Any] = []
        registered = layer.__dict__.get("_neon_registered", ())
        pairs = neon_param_pairs(layer) if registered else []
        for param, (_w, dw) in zip(registered, pairs, strict=True):
            if dw is None:
                grads.append(None)
            else:
                grads.append(dw.torch.detach().reshape(param.shape).clone())
        return (None, grad_x, *grads)
