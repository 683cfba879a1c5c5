"""Layers that collapse the time axis: ``RecurrentSum``, ``RecurrentMean``, ``RecurrentLast``."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from ...convert.modules import TimeLast, TimeMean, TimeSum
from ...registry import neon_type
from .._base import Layer
from ._base import interpret_in_shape, sequence_input
from ._torch import time_last

__all__ = ["RecurrentLast", "RecurrentMean", "RecurrentOutput", "RecurrentSum"]


class RecurrentOutput(Layer):
    """Base of the time-collapsing layers (neon's ``RecurrentOutput``); no parameters.

    neon semantics: the default name is the bare class name (``"RecurrentSum"``); the input is
    read as ``(nin, T)`` steps (see :func:`~neon_torch.layers.recurrent._base.interpret_in_shape`).
    neon gives the output the shape ``(nin, 1)``; neon_torch uses the equivalent flat ``nin``,
    so the output tensor is ``(N, nin)``.

    Shape:
        input ``(N, T, nin)``; output ``(N, nin)``.
    """

    _torch_module: ClassVar[type[nn.Module]]  # the plain module of to_torch

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name if name else type(self).__name__)

    def configure(self, in_obj: Any) -> RecurrentOutput:
        super().configure(in_obj)
        self.nin, self.nsteps = interpret_in_shape(self.in_shape)
        self.out_shape = self.nin
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self._collapse(sequence_input(self, x, self.nin, self.nsteps))

    def _collapse(self, seq: Tensor) -> Tensor:
        raise NotImplementedError

    def to_torch(self) -> nn.Module:
        """:class:`~neon_torch.convert.modules.TimeSum` / ``TimeMean`` / ``TimeLast``."""
        return self._torch_module(time_last=time_last(self))

    def __str__(self) -> str:
        return (
            f"RecurrentOutput choice {self.name} : ({getattr(self, 'nin', '?')}, "
            f"{getattr(self, 'nsteps', '?')}) inputs, {getattr(self, 'nin', '?')} outputs"
        )


@neon_type("neon.layers.recurrent.RecurrentSum", "neon.layers.RecurrentSum")
class RecurrentSum(RecurrentOutput):
    """Sum over the time steps; the backward copies the error to every step."""

    _torch_module = TimeSum

    def _collapse(self, seq: Tensor) -> Tensor:
        return seq.sum(dim=1)


@neon_type("neon.layers.recurrent.RecurrentMean", "neon.layers.RecurrentMean")
class RecurrentMean(RecurrentOutput):
    """Mean over the time steps (each step scaled by ``1/T``, then summed, as neon does)."""

    _torch_module = TimeMean

    def _collapse(self, seq: Tensor) -> Tensor:
        return (seq * (1.0 / seq.shape[1])).sum(dim=1)


@neon_type("neon.layers.recurrent.RecurrentLast", "neon.layers.RecurrentLast")
class RecurrentLast(RecurrentOutput):
    """The last time step; the backward puts the error on that step only."""

    _torch_module = TimeLast

    def _collapse(self, seq: Tensor) -> Tensor:
        return seq[:, -1]
