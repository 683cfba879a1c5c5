"""Fully connected layers: ``Linear``, ``Bias`` and the compound ``Affine``."""

from __future__ import annotations

from typing import Any, cast

import torch.nn.functional as F
from torch import Tensor, nn

from .. import layout
from ..backends.tensor import Tensor as NeonTensor
from ..registry import neon_type
from ._base import ParameterLayer, WeightLayer, shape_size

__all__ = ["Bias", "Linear"]


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
        # a Parameter once allocate() ran (the methods using it check that first)
        self.weight: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()
        self._sequence = False

    @property
    def nout(self) -> int:  # neon's constructor argument, also read by descriptions
        return self.nout_

    @nout.setter
    def nout(self, value: int) -> None:
        self.nout_ = int(value)

    def configure(self, in_obj: Any) -> Linear:
        super().configure(in_obj)
        shape = self.in_shape
        self._sequence = layout.is_sequence_shape(shape)
        if self._sequence:
            self.nin, steps = cast(tuple[int, int], shape)
            self.out_shape = (self.nout_, steps)
        else:
            self.nin = shape_size(shape)
            self.out_shape = self.nout_
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
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
        w = self.weight.detach()
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
        # a Parameter once allocate() ran (the methods using it check that first)
        self.bias: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()
        self._view: tuple[int, ...] = (-1,)

    def configure(self, in_obj: Any) -> Bias:
        super().configure(in_obj)
        shape = self.in_shape
        if isinstance(shape, int):
            self.bias_size = shape
        else:
            self.bias_size = shape[0]
            if not layout.is_sequence_shape(shape):
                self._view = (self.bias_size,) + (1,) * (len(shape) - 1)  # (C, 1, 1)
        return self

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        if self._allocated:
            return
        w = self._fill(self.init, (self.bias_size, 1))
        self.bias = self._new_parameter(w, layout.column_to_vector)
        self._allocated = True

    def forward(self, x: Tensor) -> Tensor:
        self._check_allocated()
        return x + self.bias.view(self._view)

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.bias]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.bias}

    @property
    def W(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's ``W``: the bias as a ``(bias_size, 1)`` backend Tensor sharing its storage."""
        return self._neon_param("W")

    @property
    def dW(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's ``dW``: the bias ``.grad`` as ``(bias_size, 1)``, or None."""
        return self._neon_grad("W")

    def to_torch(self) -> nn.Module:
        """A :class:`~neon_torch.convert.modules.FeatureBias` (when it cannot fold)."""
        from ..convert.modules import FeatureBias

        self._check_allocated()
        return FeatureBias(self.bias, layout.is_sequence_shape(self.in_shape))

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
        previous.bias = nn.Parameter(self.bias.detach().clone())
        return True

    def __str__(self) -> str:
        shape = self.in_shape
        if isinstance(shape, tuple) and len(shape) == 3:
            return f"Bias Layer '{self.name}': size {shape[0]} x ({shape[1]}x{shape[2]})"
        return f"Bias Layer '{self.name}': size {getattr(self, 'bias_size', '?')}"


def _out_axis(conv: nn.Module) -> int:
    """Axis of the output maps in a torch convolution weight (1 for transposed ones)."""
    return 1 if getattr(conv, "transposed", False) else 0
