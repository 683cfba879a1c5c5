"""neon's (non-inverted) ``Dropout``."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .. import layout
from ..backends.backend import current_backend
from ..registry import neon_type
from ._base import Layer, shape_size

__all__ = ["Dropout"]


@neon_type("neon.layers.layer.Dropout", "neon.layers.Dropout")
class Dropout(Layer):
    """Dropout with neon's rule, which is **not** inverted dropout.

    neon semantics: in training ``y = x * mask`` with ``mask = U < keep`` and no ``1/keep``
    rescaling; at inference ``y = x * keep``. The backward multiplies by the same mask. In caffe
    compatibility mode (``gen_backend(compat_mode='caffe')``, read when the layer is built) it is
    the PyTorch convention instead: ``x * mask / keep`` in training, ``x`` at inference.

    Random numbers: on the CPU the mask is drawn from the backend's numpy stream ``be.rng`` in
    neon layout (``(features, N)``, C order), so the masks, and everything after them, equal neon
    2.6's. On CUDA, masks come from the backend's ``torch.Generator`` (fast, but not neon's
    stream).

    Shape:
        output = input.
    """

    owns_output = False

    def __init__(self, keep: float = 0.5, name: str | None = None) -> None:
        super().__init__(name)
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"Dropout keep must be in (0, 1], got {keep!r}.")
        self.keep = keep
        be = current_backend()
        self.caffe_mode = be.check_caffe_compat()

    def _mask(self, x: Tensor) -> Tensor:
        be = current_backend()
        if x.device.type == "cpu":
            shape = self.in_shape if self.in_shape is not None else tuple(x.shape[1:])
            n = x.shape[0]
            # neon draws U over its (features, N) buffer ((F, T·N) for sequences) in C order.
            rows = shape[0] if layout.is_sequence_shape(shape) else shape_size(shape)
            uniform = be.rng.uniform(size=(rows, shape_size(shape) // rows * n))
            mask = layout.neon_to_batch_first(uniform < self.keep, shape)
            return torch.from_numpy(np.ascontiguousarray(mask)).to(x.dtype)
        return (torch.rand(x.shape, generator=be.generator, device=x.device) < self.keep).to(
            x.dtype
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            mask = self._mask(x)
            return x * (mask / self.keep if self.caffe_mode else mask)
        return x if self.caffe_mode else x * self.keep

    def to_torch(self) -> nn.Module:
        """``nn.Dropout(1 - keep)`` in caffe mode, else
        :class:`~neon_torch.convert.modules.NeonDropout` (``x * keep`` at inference)."""
        from ..convert.modules import NeonDropout

        return nn.Dropout(1.0 - self.keep) if self.caffe_mode else NeonDropout(self.keep)

    def __str__(self) -> str:
        nout = shape_size(self.in_shape) if self.in_shape is not None else "?"
        return (
            f"Dropout Layer '{self.name}': {nout} inputs and outputs, keep "
            f"{int(self.keep * 100)}% (caffe_compat {self.caffe_mode})"
        )
