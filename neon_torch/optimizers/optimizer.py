"""Optimizer base class and neon's gradient clipping.

**The gradient convention.** After the backward pass every parameter's ``.grad`` holds neon's
``dW``: the *sum* over the minibatch of the per-sample gradients (see
:mod:`neon_torch.transforms.cost`). Every neon optimizer first divides it by the configured
batch size ``be.bsz`` (also for a wrapped last batch); ``gradient_clip_value`` clips that
quotient element-wise; ``gradient_clip_norm = c`` scales the whole update by one factor
``s = c / max(norm, c)`` with ``norm = sqrt(Σ_all params Σ dW²) / bsz``.

Updates run as multi-tensor (``torch._foreach_*``) operations on the parameters' device, with
no host synchronisation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._object import NervanaObject
from ..backends.backend import current_backend

__all__ = ["Optimizer", "ParamGroup"]


class ParamGroup:
    """The flattened parameters, gradients and state lists of a list of layers.

    ``states[i]`` is the very list the owning layer keeps in ``layer.states`` for parameter
    ``i``, so optimizer states are saved and restored with the layer, as in neon.
    """

    def __init__(self, layers: list[Any]) -> None:
        self.params: list[Tensor] = []
        self.states: list[list[Tensor]] = []
        for layer in layers:
            params = layer.optimized_parameters()
            while len(layer.states) < len(params):
                layer.states.append([])
            self.params.extend(params)
            self.states.extend(layer.states[: len(params)])

    def grads(self) -> list[Tensor]:
        """Gradients; a parameter that received none contributes zeros (neon's zeroed ``dW``)."""
        return [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]

    def ensure_states(self, count: int) -> None:
        """Create ``count`` zero state tensors per parameter on first use (neon: lazily)."""
        for p, states in zip(self.params, self.states, strict=True):
            while len(states) < count:
                states.append(torch.zeros_like(p, memory_format=torch.preserve_format))

    def state(self, index: int) -> list[Tensor]:
        """State ``index`` of every parameter."""
        return [s[index] for s in self.states]


class Optimizer(NervanaObject):
    """Base class of neon optimizers: ``optimize(layer_list, epoch)`` updates parameters in place."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._groups: dict[tuple[int, ...], ParamGroup] = {}

    def _group(self, layer_list: list[Any]) -> ParamGroup:
        key = tuple(id(layer) for layer in layer_list)
        group = self._groups.get(key)
        if group is None:
            group = ParamGroup(layer_list)
            self._groups = {key: group}
        return group

    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        """Apply one update to the parameters of ``layer_list`` for (0-based) ``epoch``."""
        raise NotImplementedError

    @staticmethod
    def _scaled_grads(grads: list[Tensor], bsz: int, clip_value: float | None) -> list[Tensor]:
        """``clip(dW / bsz, ±|clip_value|)`` (clipping only when ``clip_value`` is truthy)."""
        g = torch._foreach_div(grads, float(bsz))
        if clip_value:
            bound = abs(float(clip_value))
            torch._foreach_clamp_min_(g, -bound)
            torch._foreach_clamp_max_(g, bound)
        return g

    @staticmethod
    def _clip_norm_scale(grads: list[Tensor], bsz: int, clip_norm: float | None) -> Tensor | None:
        """neon's global norm scale ``c / max(sqrt(Σ dW²) / bsz, c)``, or None when off."""
        if not clip_norm:
            return None
        norms = torch._foreach_norm(grads)
        norm = torch.linalg.vector_norm(torch.stack(norms)) / float(bsz)
        c = float(clip_norm)
        return c / torch.clamp(norm, min=c)

    @staticmethod
    def _clip_params(params: list[Tensor], clip: float | None) -> None:
        if clip:
            bound = abs(float(clip))
            torch._foreach_clamp_min_(params, -bound)
            torch._foreach_clamp_max_(params, bound)

    @staticmethod
    def _bsz() -> int:
        bsz = current_backend().bsz
        if bsz <= 0:
            raise ValueError(
                "be.bsz is 0: neon optimizers divide gradients by the configured batch size. "
                "Pass batch_size to gen_backend (or set be.bsz) before training."
            )
        return bsz
