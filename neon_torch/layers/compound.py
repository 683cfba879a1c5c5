"""neon's compound layers: plain lists of layers that containers flatten (``Affine``,
``Conv``, ``Deconv``; ``BinaryAffine`` lives with the binary layers)."""

from __future__ import annotations

from typing import Any

from ..errors import NeonTorchError
from ..registry import neon_builder
from .activation import Activation
from .batch_norm import BatchNorm
from .convolution import EMPTY, Axes, Convolution, Convolution_bias, Deconvolution
from .linear import Bias, Linear

__all__ = ["Affine", "CompoundLayer", "Conv", "Deconv"]


class _BiasWithBatchNormError(NeonTorchError, AttributeError):
    """``bias`` and ``batch_norm=True`` together (neon raises ``AttributeError`` too)."""


def _check_bias_bn(kind: str, bias: Any, batch_norm: bool) -> None:
    if bias is not None and batch_norm:
        raise _BiasWithBatchNormError(
            f"{kind}: got both bias={bias!r} and batch_norm=True; BatchNorm already adds a "
            "learned shift (beta), so pass one of them, not both."
        )


class CompoundLayer(list):
    """A neon compound layer: a plain ``list`` of layers that containers flatten.

    It is deliberately not a module: neon's descriptions and ``.prm`` files list the parts
    (``Linear_0``, ``Linear_0_bias``, ...) at their own positions, and so does neon_torch.
    """

    def __init__(
        self,
        bias: Any = None,
        batch_norm: bool = False,
        activation: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        _check_bias_bn(type(self).__name__, bias, batch_norm)
        self.bias = bias
        self.batch_norm = batch_norm
        self.activation = activation
        self.base_name = name

    def add_postfilter_layers(self, base: str | None = None, fused_bias: bool = False) -> None:
        """Append ``Bias``/``BatchNorm`` and ``Activation`` named after ``base`` (default: the
        first part's name); ``fused_bias`` means the first part already adds the bias."""
        base = base or self[0].name
        if self.bias is not None and not fused_bias:
            self.append(Bias(init=self.bias, name=f"{base}_bias"))
        if self.batch_norm:
            self.append(BatchNorm(name=f"{base}_bnorm"))
        if self.activation is not None:
            name = f"{base}_{type(self.activation).__name__}"
            self.append(Activation(transform=self.activation, name=name))


@neon_builder("neon.layers.layer.Affine")
class Affine(CompoundLayer):
    """neon's compound fully connected layer: Linear [+ Bias | + BatchNorm] [+ Activation].

    The parts are named ``<name>``, ``<name>_bias``, ``<name>_bnorm`` and
    ``<name>_<ActivationClass>``, where ``<name>`` is ``name`` or the Linear's automatic name
    (``Linear_0``). ``Linear`` gets ``bsum=batch_norm``, as in neon. Passing both ``bias`` and
    ``batch_norm=True`` raises.
    """

    def __init__(
        self,
        nout: int,
        init: Any,
        bias: Any = None,
        batch_norm: bool = False,
        activation: Any = None,
        name: str | None = None,
        parallelism: str = "Disabled",
    ) -> None:
        super().__init__(bias=bias, batch_norm=batch_norm, activation=activation, name=name)
        self.append(Linear(nout, init=init, bsum=batch_norm, name=name, parallelism=parallelism))
        self.add_postfilter_layers()


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
