"""Fully connected layers: ``Linear``, ``Bias`` and the compound ``Affine``."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch.nn.functional as F
from torch import Tensor, nn

from .. import layout
from ..backends.tensor import Tensor as NeonTensor
from ..errors import NeonTorchError
from ..registry import neon_type
from ._base import Layer, ParameterLayer, Shape, shape_size, to_numpy
from .activation import Activation
from .batch_norm import BatchNorm

__all__ = ["Affine", "Bias", "CompoundLayer", "Linear", "WeightLayer"]


class WeightLayer(ParameterLayer):
    """A layer whose one parameter, ``weight``, has neon's ``W`` layout as it is (Linear's
    ``(nout, nin)``, LookupTable's ``(vocab, embedding)``); subclasses create ``weight``."""

    weight: nn.Parameter | None

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.weight]  # type: ignore[list-item]

    def neon_params(self) -> dict[str, np.ndarray]:
        self._check_allocated()
        return {"W": to_numpy(layout.linear_w_from_torch(self.weight))}

    def state_to_neon(self, index: int, state: Tensor) -> np.ndarray:
        return to_numpy(layout.linear_w_from_torch(state))

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.weight}  # type: ignore[dict-item]

    @property
    def W(self) -> NeonTensor | None:
        """neon's ``W`` as a backend Tensor sharing the weight's storage (writes change it)."""
        return self._neon_param("W")

    @property
    def dW(self) -> NeonTensor | None:
        """neon's ``dW``: the weight's ``.grad`` (summed over the minibatch), or None."""
        return self._neon_grad("W")


@neon_type("neon.layers.layer.Linear", "neon.layers.Linear")
class Linear(WeightLayer):
    """Fully connected layer without bias: ``y = W x``.

    neon semantics: ``W`` has neon shape ``(nout, nin)`` (the same as ``nn.Linear.weight``) and
    is filled by ``init`` in that shape, so ``Xavier()``/``Kaiming()`` with ``local=True`` use
    ``nout`` as the fan. Image inputs are flattened in (C, H, W) order; sequence inputs get the
    same ``W`` at every time step. ``bsum`` is a neon performance flag, kept for descriptions.

    Shape:
        input ``(N, *in_shape)``; output ``(N, nout)``, or ``(N, T, nout)`` for sequences.
    """

    def __init__(
        self,
        nout: int,
        init: Any,
        bsum: bool = False,
        name: str | None = None,
        parallelism: str = "Disabled",
    ) -> None:
        super().__init__(init=init, name=name, parallelism=parallelism)
        self.nout_ = int(nout)
        self.bsum = bsum
        self.weight: nn.Parameter | None = None
        self._sequence = False

    @property
    def nout(self) -> int:  # neon's constructor argument, also read by descriptions
        return self.nout_

    @nout.setter
    def nout(self, value: int) -> None:
        self.nout_ = int(value)

    def configure(self, in_obj: Any) -> Linear:
        super().configure(in_obj)
        shape = cast(Shape, self.in_shape)
        self._sequence = layout.is_sequence_shape(shape)
        if self._sequence:
            self.nin, steps = cast(tuple[int, int], shape)
            self.out_shape = (self.nout_, steps)
        else:
            self.nin = shape_size(shape)
            self.out_shape = self.nout_
        return self

    def allocate(self) -> None:
        if self._allocated:
            return
        w = self._fill(self.init, (self.nout_, self.nin))
        self.weight = self._new_parameter(w, layout.linear_w_to_torch)
        self._allocated = True

    def forward(self, x: Tensor) -> Tensor:
        self._check_allocated()
        if not self._sequence and x.dim() != 2:
            x = x.reshape(x.shape[0], -1)  # (N, C, H, W) -> (N, C·H·W)
        return F.linear(x, self.weight)

    def to_torch(self) -> nn.Module:
        """``nn.Linear(nin, nout, bias=False)`` (after ``nn.Flatten`` for image inputs)."""
        self._check_allocated()
        w = self.weight.detach()  # type: ignore[union-attr]
        linear = nn.Linear(self.nin, self.nout_, bias=False, dtype=w.dtype, device=w.device)
        linear.weight.data.copy_(w)
        if isinstance(self.in_shape, tuple) and not self._sequence:
            return nn.Sequential(nn.Flatten(), linear)
        return linear

    def __str__(self) -> str:
        nin = getattr(self, "nin", "?")
        return f"Linear Layer '{self.name}': {nin} inputs, {self.nout_} outputs"


@neon_type("neon.layers.layer.Bias", "neon.layers.Bias")
class Bias(ParameterLayer):
    """Adds a learned bias per feature (flat and sequence inputs) or per channel (images).

    neon semantics: ``W`` has neon shape ``(bias_size, 1)`` with ``bias_size = in_shape[0]``
    (features, or channels C for ``(C, H, W)`` inputs); it is filled by ``init`` in that shape.
    Works in place in neon (it owns no output buffer), which puts it after its Linear in the
    allocation order.

    Shape:
        output = input.
    """

    owns_output = False

    def __init__(self, init: Any, name: str | None = None) -> None:
        super().__init__(init=init, name=name)
        self.bias: nn.Parameter | None = None
        self._view: tuple[int, ...] = (-1,)

    def configure(self, in_obj: Any) -> Bias:
        super().configure(in_obj)
        shape = cast(Shape, self.in_shape)
        if isinstance(shape, int):
            self.bias_size = shape
        else:
            self.bias_size = shape[0]
            if not layout.is_sequence_shape(shape):
                self._view = (self.bias_size,) + (1,) * (len(shape) - 1)  # (C, 1, 1)
        return self

    def allocate(self) -> None:
        if self._allocated:
            return
        w = self._fill(self.init, (self.bias_size, 1))
        self.bias = self._new_parameter(w, layout.column_to_vector)
        self._allocated = True

    def forward(self, x: Tensor) -> Tensor:
        self._check_allocated()
        return x + self.bias.view(self._view)  # type: ignore[union-attr]

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.bias]  # type: ignore[list-item]

    def neon_params(self) -> dict[str, np.ndarray]:
        self._check_allocated()
        return {"W": to_numpy(layout.vector_to_column(self.bias))}

    def state_to_neon(self, index: int, state: Tensor) -> np.ndarray:
        return to_numpy(layout.vector_to_column(state))

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.bias}  # type: ignore[dict-item]

    @property
    def W(self) -> NeonTensor | None:
        """neon's ``W``: the bias as a ``(bias_size, 1)`` backend Tensor sharing its storage."""
        return self._neon_param("W")

    @property
    def dW(self) -> NeonTensor | None:
        """neon's ``dW``: the bias ``.grad`` as ``(bias_size, 1)``, or None."""
        return self._neon_grad("W")

    def to_torch(self) -> nn.Module:
        """A :class:`~neon_torch.convert.modules.FeatureBias` (when it cannot fold)."""
        from ..convert.modules import FeatureBias

        self._check_allocated()
        return FeatureBias(self.bias, layout.is_sequence_shape(self.in_shape))  # type: ignore[arg-type]

    def fold_into_torch(self, previous: nn.Module) -> bool:
        """Become the ``bias`` of a preceding bias-less ``nn.Linear`` / ``nn.Conv*d`` /
        ``nn.ConvTranspose*d`` (also the last module of an ``nn.Sequential``)."""
        self._check_allocated()
        if isinstance(previous, nn.Sequential) and len(previous):
            previous = previous[-1]
        foldable = (nn.Linear, nn.modules.conv._ConvNd)
        if not isinstance(previous, foldable) or previous.bias is not None:
            return False
        if previous.weight.shape[0 if isinstance(previous, nn.Linear) else _out_axis(previous)] != (
            self.bias_size
        ):
            return False
        previous.bias = nn.Parameter(self.bias.detach().clone())  # type: ignore[union-attr]
        return True

    def __str__(self) -> str:
        shape = self.in_shape
        if isinstance(shape, tuple) and len(shape) == 3:
            return f"Bias Layer '{self.name}': size {shape[0]} x ({shape[1]}x{shape[2]})"
        return f"Bias Layer '{self.name}': size {getattr(self, 'bias_size', '?')}"


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


def _out_axis(conv: nn.Module) -> int:
    """Axis of the output maps in a torch convolution weight (1 for transposed ones)."""
    return 1 if getattr(conv, "transposed", False) else 0


def flatten_layers(layers: Any) -> list[Layer]:
    """Flatten nested lists and compound layers into a list of layers (neon's rule)."""
    out: list[Layer] = []
    for item in layers if isinstance(layers, (list, tuple)) else [layers]:
        if isinstance(item, (list, tuple)):
            out.extend(flatten_layers(item))
        elif isinstance(item, Layer):
            out.append(item)
        else:
            raise TypeError(
                f"Expected a neon_torch layer or a list of layers, got {type(item).__name__}."
            )
    return out
