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
from ..data.dataiterator import NervanaDataIterator
from ..errors import ShapeMismatchError

__all__ = ["as_batches", "dataset_shape", "first_batch", "prepare_target", "to_device"]


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
    """Iterate ``(x, t)`` minibatches as device tensors."""
    if isinstance(dataset, NervanaDataIterator):
        yield from dataset
        return
    for x, t in dataset:
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
