"""neon's ``Reshape`` layer."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor, nn

from .. import layout
from ..errors import LayerConfigError, ShapeMismatchError
from ..registry import neon_type
from ._base import Layer

__all__ = ["Reshape"]


@neon_type("neon.layers.layer.Reshape", "neon.layers.Reshape")
class Reshape(Layer):
    """Gives each sample a new shape, reading its features in neon's order.

    neon semantics: ``reshape`` is the new per-sample shape (int or tuple); a ``0`` copies the
    input's entry at that position (only the first 0), a ``-1`` is inferred. Samples are read
    and written in neon's feature order (C-order of ``(C, H, W)``; ``(F, T)`` for sequences),
    so a 2-tuple result ``(F, T)`` is a sequence of T steps: ``(C, H, W) -> (C·H, W)`` turns the
    columns of an image into time steps, and ``(F, T) -> F·T`` flattens ``f·T + t``.

    Shape:
        input ``(N, *in)`` batch-first; output ``(N, *reshape)``, or ``(N, T, F)`` for a 2-tuple
        ``(F, T)``.
    """

    owns_output = False

    def __init__(self, reshape: int | tuple[int, ...], name: str | None = None) -> None:
        super().__init__(name)
        dims = (reshape,) if isinstance(reshape, int) else tuple(reshape)
        if not dims or not all(isinstance(d, int) and d >= -1 for d in dims) or dims.count(-1) > 1:
            raise LayerConfigError(
                f"Reshape {self.name!r}: reshape must be an int or a tuple of ints >= -1 with at "
                f"most one -1, got {reshape!r}."
            )
        self.reshape = reshape
        self._dims = dims

    def configure(self, in_obj: Any) -> Reshape:
        super().configure(in_obj)
        in_dims = (self.in_shape,) if isinstance(self.in_shape, int) else tuple(self.in_shape)
        total = math.prod(in_dims)
        dims = list(self._dims)
        if 0 in dims:
            i = dims.index(0)
            if i >= len(in_dims):
                raise ShapeMismatchError(
                    f"Reshape {self.name!r}: reshape {self.reshape!r} copies input axis {i}, but "
                    f"the input shape {self.in_shape} has {len(in_dims)} axes."
                )
            dims[i] = in_dims[i]
        if -1 in dims:
            known = math.prod(d for d in dims if d != -1)
            if known == 0 or total % known:
                raise ShapeMismatchError(
                    f"Reshape {self.name!r}: cannot reshape input {self.in_shape} "
                    f"({total} features) to {self.reshape!r}."
                )
            dims[dims.index(-1)] = total // known
        if math.prod(dims) != total:
            raise ShapeMismatchError(
                f"Reshape {self.name!r}: input shape {self.in_shape} has {total} features per "
                f"sample, but reshape {self.reshape!r} needs {math.prod(dims)}."
            )
        self._target = tuple(dims)
        self.out_shape = dims[0] if len(dims) == 1 else self._target
        return self

    def forward(self, x: Tensor) -> Tensor:
        x = layout.to_neon_sample_order(x, self.in_shape)
        y = x.reshape(x.shape[0], *self._target)
        return layout.from_neon_sample_order(y, self.out_shape)

    def to_torch(self) -> nn.Module:
        """:class:`~neon_torch.convert.modules.NeonReshape` with this layer's shapes."""
        from ..convert.modules import NeonReshape

        self._require_shape()
        return NeonReshape(
            self._target,
            layout.is_sequence_shape(self.in_shape),
            layout.is_sequence_shape(self.out_shape),
        )

    def __str__(self) -> str:
        return f"Reshape Layer '{self.name}' input shape {self.in_shape} to {self.reshape}"
