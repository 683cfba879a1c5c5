"""Binarized networks (Courbariaux et al. 2016) as neon 2.6 trains them: ``BinaryLinear``,
``BinaryAffine`` and ``ShiftBatchNorm``, with neon's rounding forward and its straight-through
backward (the power-of-two arithmetic lives in :mod:`._shift`).
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import neon_builder, neon_type
from ._shift import BinarizeWeights, binarize
from .activation import Activation
from .batch_norm import BatchNorm
from .compound import CompoundLayer
from .linear import Bias, Linear

__all__ = ["BinaryAffine", "BinaryLinear", "ShiftBatchNorm"]


@neon_type("neon.layers.layer.BinaryLinear", "neon.layers.BinaryLinear")
class BinaryLinear(Linear):
    """Fully connected layer with binarized weights: ``y = Wb x``, ``Wb = binarize(W)``
    (+1 where ``W >= 0``, -1 elsewhere).

    neon semantics: the real-valued ``W`` (neon shape ``(nout, nin)``) is what the optimizer
    updates and what files hold; the gradient for ``W`` is the one for ``Wb`` passed straight
    through (no clipping mask: ``ShiftAdaMax`` keeps ``W`` in [-1, 1]); the error for the
    input is ``Wb^T · error``. neon's XNOR kernel for ±1 inputs gives the same numbers as the
    ordinary product, so there is one path here.

    Shape:
        input ``(N, *in_shape)``; output ``(N, nout)``, or ``(N, T, nout)`` for sequences.
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check_allocated()
        if not self._sequence and x.dim() != 2:
            x = x.reshape(x.shape[0], -1)
        return F.linear(x, BinarizeWeights.apply(self.weight))

    def to_torch(self) -> nn.Module:
        """``nn.Linear(nin, nout, bias=False)`` holding the binarized weights."""
        module = super().to_torch()
        linear = cast("nn.Linear", module[-1] if isinstance(module, nn.Sequential) else module)
        with torch.no_grad():
            linear.weight.copy_(binarize(linear.weight))
        return module

    def __str__(self) -> str:
        nin = getattr(self, "nin", "?")
        return f"BinaryLinear Layer '{self.name}': {nin} inputs, {self.nout_} outputs"


@neon_type("neon.layers.layer.ShiftBatchNorm", "neon.layers.ShiftBatchNorm")
class ShiftBatchNorm(BatchNorm):
    """neon's shift-based batch normalization (``BatchNorm(binary=True)``), for binary nets.

    neon semantics (training): the variance is ``mean(d * AP2(d))`` with ``d = x - mean``, and
    the divisions and the scaling by ``gamma`` are multiplications by powers of two:
    ``y = (d * AP2(1 / sqrt(var + eps))) * AP2(gamma) + beta``; the running statistics take
    that variance (``gvar <- rho * gvar + (1 - rho) * var``). The backward is neon's
    shift-based one (see :class:`~._shift.ShiftBatchNormFunction`). At inference neon's CPU backend
    normalizes as plain BatchNorm does, ``gamma * (x - gmean) / sqrt(gvar + eps) + beta``, and
    so does this layer. Defaults ``rho=0.99``, ``eps=1e-6``.

    Shape:
        output = input (statistics per feature, per channel of images, or per feature of
        ``(N, T, F)`` sequences, as BatchNorm).
    """

    def __init__(self, rho: float = 0.99, eps: float = 1e-6, name: str | None = None) -> None:
        super().__init__(rho=rho, eps=eps, name=name, binary=True)


@neon_builder("neon.layers.layer.BinaryAffine")
class BinaryAffine(CompoundLayer):
    """neon's compound binary layer: BinaryLinear [+ Bias | + ShiftBatchNorm] [+ Activation].

    The parts are named ``<name>``, ``<name>_bias``, ``<name>_sbnorm`` and
    ``<name>_<ActivationClass>``, ``<name>`` defaulting to the BinaryLinear's automatic name
    (``BinaryLinear_0``); ``batch_norm=True`` adds a :class:`ShiftBatchNorm` (neon's defaults
    ``rho=0.99``, ``eps=1e-6``). Passing both ``bias`` and ``batch_norm=True`` raises.
    """

    def __init__(
        self,
        nout: int,
        init: Any,
        bias: Any = None,
        batch_norm: bool = False,
        activation: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(bias=bias, batch_norm=batch_norm, activation=activation, name=name)
        self.append(BinaryLinear(nout, init=init, bsum=batch_norm, name=name))
        base = self[0].name
        if bias is not None:
            self.append(Bias(init=bias, name=f"{base}_bias"))
        if batch_norm:
            self.append(ShiftBatchNorm(name=f"{base}_sbnorm"))
        if activation is not None:
            name = f"{base}_{type(activation).__name__}"
            self.append(Activation(transform=activation, name=name))
