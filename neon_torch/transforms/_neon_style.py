"""Transforms, costs and metrics written against neon's API, run on batch-first torch data.

neon's user guide has users subclass ``Transform`` (``__call__(x)`` and ``bprop(y)``),
``Cost`` (``__call__(y, t)``/``bprop(y, t)``, or ``func``/``funcgrad``) and ``Metric`` with
backend-tensor code in neon's ``(features, batch)`` layout. A subclass defined outside
neon_torch is taken to be written that way: the helpers here hand it backend
:class:`~neon_torch.backends.tensor.Tensor` views of the batch-first tensors (``(N, F)`` as
``(F, N)``, sequences ``(N, T, F)`` as ``(F, T·N)``) and turn its neon-layout results back.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..backends.tensor import Tensor as NeonTensor
from ..backends.tensor import as_torch
from ..errors import ShapeMismatchError
from ..layout import batch_first_to_neon, neon_to_batch_first

__all__ = [
    "NeonTransformFunction",
    "from_neon",
    "is_user_class",
    "per_sample_values",
    "to_neon",
    "written_by_user",
]


def is_user_class(cls: type) -> bool:
    """True for a class defined outside neon_torch (user code written against neon's API)."""
    return cls.__module__.split(".")[0] != "neon_torch"


def written_by_user(cls: type, name: str) -> bool:
    """True when ``cls.<name>`` resolves to a definition in a class outside neon_torch (a user
    subclass of a built-in transform that overrides nothing stays a built-in)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return is_user_class(klass)
    return False


def _shape(x: Tensor) -> Any:
    return (x.shape[2], x.shape[1]) if x.dim() == 3 else x.shape[-1]


def to_neon(x: Tensor) -> NeonTensor:
    """A batch-first ``(N, F)`` / ``(N, T, F)`` tensor as neon's ``(F, N)`` / ``(F, T·N)``."""
    return NeonTensor(batch_first_to_neon(x, _shape(x)))


def from_neon(value: Any, like: Tensor) -> Tensor:
    """A neon-layout result shaped like ``to_neon(like)`` back in ``like``'s batch-first
    layout (numbers broadcast to ``like``'s shape)."""
    t = as_torch(value, like)
    if not isinstance(t, Tensor):
        return torch.full_like(like, float(t))
    if t.numel() != like.numel():
        raise ShapeMismatchError(
            f"A neon-style transform or cost returned shape {tuple(t.shape)}; expected neon's "
            f"{tuple(batch_first_to_neon(like, _shape(like)).shape)} for the batch-first "
            f"{tuple(like.shape)}."
        )
    if like.dim() == 3:
        return neon_to_batch_first(t.reshape(like.shape[2], -1), _shape(like))
    return t.reshape(-1, like.shape[0]).T.reshape(like.shape)


def per_sample_values(value: Any, y: Tensor) -> Tensor:
    """neon's per-sample cost row ``(1, N)`` (or ``(1, T·N)``) as ``(N,)`` (or ``(N, T)``)."""
    t = as_torch(value, y)
    rows = y.shape[:-1]
    if not isinstance(t, Tensor) or t.numel() == 1:
        return torch.full(rows, float(t), dtype=y.dtype, device=y.device)
    t = t.reshape(1, -1)
    if y.dim() == 3:
        return neon_to_batch_first(t, (1, y.shape[1])).reshape(rows)
    return t.reshape(rows)


class NeonTransformFunction(torch.autograd.Function):
    """A neon-style transform: forward ``transform(x)``, backward ``grad · transform.bprop(y)``,
    both on neon-layout backend Tensors (neon's Activation layer does exactly this)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, transform: Any) -> Tensor:
        y = from_neon(transform(to_neon(x.detach())), x).to(x.dtype).contiguous()
        ctx.save_for_backward(y)
        ctx.transform = transform
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (y,) = ctx.saved_tensors
        derivative = from_neon(ctx.transform.bprop(to_neon(y)), y)
        return grad * derivative, None
