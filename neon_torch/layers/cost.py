"""``GeneralizedCost``: a cost function applied to a model's output (neon's cost "layer")."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import torch
from torch import Tensor

from .._values import neon_values
from ..backends.backend import NervanaObject
from ..backends.tensor import Tensor as NeonTensor
from ..errors import ShapeMismatchError
from ..layout import batch_first_to_neon, is_sequence_shape, neon_to_batch_first
from ..registry import neon_type
from ..transforms._neon_style import from_neon, per_sample_values, to_neon
from ._base import Layer

__all__ = ["GeneralizedCost"]


@neon_type("neon.layers.layer.GeneralizedCost", "neon.layers.GeneralizedCost")
class GeneralizedCost(NervanaObject):
    """Wraps a cost function: ``get_cost`` reports, ``get_errors`` gives the delta.

    neon semantics (see :mod:`neon_torch.transforms.cost` for the gradient convention):

    * ``get_cost(y, t)`` is the **mean** of the per-sample costs over the batch (and time
      steps); it is stored as ``cost`` (a ``(1, 1)`` float32 numpy array) and the per-sample
      values as ``outputs``;
    * ``get_errors(y, t)`` is ``costfunc.bprop(y, t)``, not divided by the batch size.

    ``cost`` is read from the device only when it is accessed, so a training loop that never
    looks at it never waits for the device.

    Shape:
        ``y`` and ``t`` batch-first ``(N, *out_shape)``; image outputs are compared flattened.
    """

    def __init__(self, costfunc: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.costfunc = costfunc
        self.outputs: Tensor | None = None
        self._cost: Tensor | None = None
        self._flatten = True

    def initialize(self, in_obj: Any) -> None:
        """Read the output shape of the last layer (neon's ``initialize(prev_layer)``)."""
        shape = in_obj.out_shape if isinstance(in_obj, Layer) else in_obj
        self._flatten = not (isinstance(shape, tuple) and is_sequence_shape(shape))

    @overload
    def _views(self, y: Tensor, t: Tensor) -> tuple[Tensor, Tensor]: ...
    @overload
    def _views(self, y: Tensor, t: None) -> tuple[Tensor, None]: ...
    def _views(self, y: Tensor, t: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if self._flatten and y.dim() != 2:
            y = y.reshape(y.shape[0], -1)  # (N, C, H, W) -> (N, C·H·W)
        if t is not None and t.shape != y.shape:
            if t.numel() != y.numel():
                raise ShapeMismatchError(
                    f"{self.name}: targets of shape {tuple(t.shape)} do not match outputs of "
                    f"shape {tuple(y.shape)} (batch-first). Check the dataset's nclass or the "
                    "last layer's nout."
                )
            t = t.reshape(y.shape)
        return y, t

    def batch_cost(self, y: Tensor, t: Tensor) -> Tensor:
        """Mean per-sample cost as a 0-d device tensor (no host synchronisation)."""
        y, t = self._views(y, t)
        with torch.no_grad():
            if getattr(self.costfunc, "_neon_style", False):  # neon-layout user cost
                values = self.costfunc(to_neon(y), to_neon(t))
                self.outputs = per_sample_values(values, y)
            else:
                self.outputs = self.costfunc(y, t)
            self._cost = self.outputs.mean()
        return self._cost

    def get_cost(self, y: Tensor, t: Tensor) -> np.ndarray:
        """neon's ``get_cost``: the batch-mean cost as a ``(1, 1)`` float32 array."""
        self.batch_cost(y, t)
        return self.cost  # type: ignore[return-value]  # set by batch_cost

    def get_errors(self, y: Any, t: Any) -> Any:
        """neon's delta for ``y``: ``costfunc.bprop(y, t)``, shaped like ``y``.

        Given backend Tensors in neon's ``(features, batch)`` layout (what ``Model.fprop``
        returns for a backend Tensor input), it answers with one in that layout; ``t`` may then
        be None for a cost that ignores its targets, as neon allowed.
        """
        if isinstance(y, NeonTensor):
            rows = neon_to_batch_first(y.torch, y.shape[0])
            targets = None if t is None else neon_to_batch_first(t.torch, t.shape[0])
            delta = self.get_errors(rows, targets)
            return NeonTensor(batch_first_to_neon(delta, delta.shape[1]).contiguous())
        shape = y.shape
        y2, t2 = self._views(y, t)
        with torch.no_grad():
            if getattr(self.costfunc, "_neon_style", False):  # neon-layout user cost
                t3 = None if t2 is None else to_neon(t2)
                return from_neon(self.costfunc.bprop(to_neon(y2), t3), y2).reshape(shape)
            return self.costfunc.bprop(y2, t2).reshape(shape)

    @property
    def cost(self) -> np.ndarray | None:
        """The last batch-mean cost, ``(1, 1)`` float32 (read from the device on access)."""
        if self._cost is None:
            return None
        return neon_values(self._cost.detach().cpu(), (1, 1))
