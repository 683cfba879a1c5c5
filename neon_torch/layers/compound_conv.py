"""neon's compound convolution layers ``Conv`` and ``Deconv``."""

from __future__ import annotations

from typing import Any

from ..registry import neon_builder
from .convolution import EMPTY, Axes, Convolution, Convolution_bias, Deconvolution
from .linear import CompoundLayer

__all__ = ["Conv", "Deconv"]


@neon_builder("neon.layers.layer.Conv")
class Conv(CompoundLayer):
    """Convolution [+ BatchNorm] [+ Activation], the bias fused into the convolution.

    neon semantics: with ``bias`` the first part is one ``Convolution_bias`` layer (params ``W``
    and ``weight_bias``), otherwise a ``Convolution`` with ``bsum=batch_norm``; no separate
    ``Bias`` layer. Parts are named ``<name>``, ``<name>_bnorm``, ``<name>_<ActivationClass>``,
    where ``<name>`` is ``name`` or the convolution's automatic name (``Convolution_0`` /
    ``Convolution_bias_0``). ``bias`` together with ``batch_norm=True`` raises.
    """

    def __init__(
        self,
        fshape: Any,
        init: Any,
        strides: Axes = EMPTY,
        padding: Axes = EMPTY,
        dilation: Axes = EMPTY,
        bias: Any = None,
        batch_norm: bool = False,
        activation: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(bias=bias, batch_norm=batch_norm, activation=activation, name=name)
        if bias is not None:
            conv: Convolution = Convolution_bias(
                fshape, strides, padding, dilation, init=init, name=name, bias=bias
            )
        else:
            conv = Convolution(
                fshape, strides, padding, dilation, init=init, bsum=batch_norm, name=name
            )
        self.append(conv)
        self.add_postfilter_layers(fused_bias=True)


@neon_builder("neon.layers.layer.Deconv")
class Deconv(CompoundLayer):
    """Deconvolution [+ Bias | + BatchNorm] [+ Activation].

    neon semantics: ``name`` is **not** given to the ``Deconvolution`` (it is always named
    automatically, ``Deconvolution_0``); the other parts are named after ``name`` when given,
    else after the deconvolution: ``<base>_bias``, ``<base>_bnorm``, ``<base>_<Activation>``.
    """

    def __init__(
        self,
        fshape: Any,
        init: Any,
        strides: Axes = EMPTY,
        padding: Axes = EMPTY,
        dilation: Axes = EMPTY,
        bias: Any = None,
        batch_norm: bool = False,
        activation: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(bias=bias, batch_norm=batch_norm, activation=activation, name=name)
        self.append(Deconvolution(fshape, strides, padding, dilation, init=init, bsum=batch_norm))
        self.add_postfilter_layers(base=name)
