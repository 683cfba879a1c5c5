"""Reading neon datasets and plain PyTorch iterables alike.

A neon iterator (``ArrayIterator``) already yields batch-first device tensors. Anything else
that yields ``(x, t)`` minibatches (a ``torch.utils.data.DataLoader``, a list of tuples, a
generator function's result) is moved to the backend's device one minibatch at a time; integer
class labels are turned into one-hot targets once the output width is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..backends.backend import Backend
from ..backends.tensor import Tensor as NeonTensor
from ..data.dataiterator import NervanaDataIterator
from ..errors import ShapeMismatchError
from ..layout import batch_first_to_neon, neon_to_batch_first

__all__ = [
    "as_batches",
    "dataset_shape",
    "first_batch",
    "from_neon_input",
    "from_neon_target",
    "prepare_target",
    "to_device",
    "to_neon_output",
]


def from_neon_input(x: Any, shape: Any, source: Any) -> Any:
    """A neon ``(features, batch)`` input buffer (or a list of them) as a batch-first tensor.

    ``shape`` is the per-sample shape (int, ``(F, T)`` sequence or ``(C, H, W)``); the result
    is a contiguous copy, so the iterator may refill its buffer for the next minibatch. It is
    tagged with ``neon_source`` (the iterator, or the buffer itself), which tells a stateful
    recurrent layer when its input comes from elsewhere, as neon sees a new input buffer.
    """
    if isinstance(x, (list, tuple)):
        shapes = shape if isinstance(shape, list) else [shape] * len(x)
        return [from_neon_input(v, s, source) for v, s in zip(x, shapes, strict=True)]
    if not isinstance(x, NeonTensor):
        return x
    if shape is None:
        shape = x.shape[0]
    out = neon_to_batch_first(x.torch, shape).contiguous()
    out.neon_source = source if source is not None else x  # type: ignore[attr-defined]  # marker
    return out


def from_neon_target(t: Any, batch: int) -> Any:
    """A neon target buffer ``(K, batch)`` -> ``(batch, K)``; ``(K, T·batch)`` -> ``(batch, T,
    K)`` (a sequence of T steps); lists and tuples of them (a Multicost's targets, a
    ``(t, mask)`` pair) convert item by item. Anything else is returned as it is."""
    if isinstance(t, (list, tuple)):
        return type(t)(from_neon_target(v, batch) for v in t)
    if not isinstance(t, NeonTensor):
        return t
    feats, cols = t.shape
    steps = max(cols // max(batch, 1), 1)
    shape: Any = (feats, steps) if steps > 1 else feats
    return neon_to_batch_first(t.torch, shape).contiguous()


def to_neon_output(y: Any, shape: Any) -> Any:
    """A batch-first model output as a neon ``(features, batch)`` Tensor (a list for a Tree):
    ``(N, F)`` -> ``(F, N)``, ``(N, T, F)`` -> ``(F, T·N)``, images -> ``(C·H·W, N)``."""
    if isinstance(y, list):
        shapes = shape if isinstance(shape, list) else [shape] * len(y)
        return [to_neon_output(v, s) for v, s in zip(y, shapes, strict=True)]
    return NeonTensor(batch_first_to_neon(y.detach(), shape))


def to_device(x: Any, be: Backend) -> Any:
    """A tensor (or list of tensors) on the backend's device; floats take the backend dtype."""
    if isinstance(x, (list, tuple)):
        return [to_device(v, be) for v in x]
    t = torch.as_tensor(x)
    if t.is_floating_point():
        return t.to(device=be.device, dtype=be.torch_dtype, non_blocking=True)
    return t.to(device=be.device, non_blocking=True)


def first_batch(dataset: Any) -> tuple[Any, Any]:
    """The first ``(x, t)`` minibatch of an iterable dataset."""
    try:
        batch = next(iter(dataset))
    except StopIteration:
        raise ShapeMismatchError("The dataset yielded no minibatch; it is empty.") from None
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        raise ShapeMismatchError(
            f"Expected the dataset to yield (x, t) pairs, got {type(batch).__name__}. Wrap a "
            "dataset of inputs alone as (x, x) or (x, None) pairs."
        )
    return batch[0], batch[1]


def _shape_of(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    dims = tuple(int(d) for d in np.shape(x)[1:])
    return dims[0] if len(dims) == 1 else dims


def dataset_shape(dataset: Any) -> Any:
    """The per-sample input shape: ``dataset.shape``, a shape itself, or the first minibatch's."""
    if isinstance(dataset, (int, np.integer)):
        return int(dataset)
    if isinstance(dataset, tuple) and all(isinstance(d, (int, np.integer)) for d in dataset):
        return tuple(int(d) for d in dataset)
    if isinstance(dataset, (torch.Tensor, np.ndarray)):
        return _shape_of(dataset)
    shape = getattr(dataset, "shape", None)
    if shape is not None:
        return shape
    x, _ = first_batch(dataset)
    return _shape_of(x)


def as_batches(dataset: Any, be: Backend) -> Iterator[tuple[Any, Any]]:
    """Iterate ``(x, t)`` minibatches as batch-first device tensors.

    An iterator written against neon's API may yield backend Tensors in neon's ``(features,
    batch)`` layout (``be.iobuf`` buffers it refills); they are converted with the dataset's
    ``shape`` (:func:`from_neon_input`, :func:`from_neon_target`).
    """
    native = isinstance(dataset, NervanaDataIterator)
    shape = getattr(dataset, "shape", None)
    for x, t in dataset:
        first = x[0] if isinstance(x, (list, tuple)) and x else x
        if isinstance(first, NeonTensor):
            x = from_neon_input(x, shape, dataset)
            batch = (x[0] if isinstance(x, list) else x).shape[0]
            t = from_neon_target(t, batch)
        if native:
            yield x, t
        else:
            yield to_device(x, be), (None if t is None else to_device(t, be))


def prepare_target(t: Any, y: Any) -> Any:
    """Integer labels ``(N,)`` or ``(N, 1)`` become one-hot ``(N, F)`` for ``(N, F)`` outputs.

    For a list of outputs (a Tree), ``t`` is one target for all of them or a list/tuple with
    one per output.
    """
    if isinstance(y, list):
        ts = t if isinstance(t, (list, tuple)) else [t] * len(y)
        return [
            None if ti is None else prepare_target(ti, yi) for ti, yi in zip(ts, y, strict=True)
        ]
    if isinstance(t, Tensor) and not t.is_floating_point() and y.dim() == 2:
        labels = t.reshape(-1)
        if labels.numel() == y.shape[0]:
            return torch.nn.functional.one_hot(labels.long(), y.shape[1]).to(y.dtype)
    return t
