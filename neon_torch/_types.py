"""The structural types neon_torch's training code relies on.

neon never declared interfaces: a data iterator, a cost, an optimizer or a callback is any
object with the methods neon calls. These Protocols write down exactly those methods, so
user classes written for neon (which subclass nothing from neon_torch) type-check and, for the
``runtime_checkable`` ones, pass ``isinstance``. ``isinstance`` against a Protocol checks only
that the members exist, not their signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "CallbackLike",
    "CallbacksLike",
    "CostFunctionLike",
    "CostLike",
    "DataIteratorLike",
    "Dataset",
    "MetricLike",
    "OptimizerArg",
    "OptimizerLike",
]


@runtime_checkable
class DataIteratorLike(Protocol):
    """neon's ``NervanaDataIterator`` contract: ``for x, t in it`` yields one minibatch (inputs
    and targets, neon layout ``(features, batch)`` or batch-first tensors), ``nbatches``
    minibatches per epoch over ``ndata`` samples, ``reset()`` rewinds to the first one."""

    @property
    def ndata(self) -> int: ...

    @property
    def nbatches(self) -> int: ...

    def reset(self) -> None: ...

    def __iter__(self) -> Iterator[tuple[Any, Any]]: ...


# What Model.fit/eval/get_outputs read: a neon iterator, or any iterable of (x, t) minibatches
# (a torch DataLoader, a list of tensor pairs); plain iterables have no reset() and their
# nbatches is len() when they have one.
Dataset: TypeAlias = DataIteratorLike | Iterable[tuple[Any, Any]]


@runtime_checkable
class CostFunctionLike(Protocol):
    """neon's elementwise ``Cost`` (``CrossEntropyMulti`` ...): ``cost(y, t)`` is the per-sample
    cost of outputs ``y`` against targets ``t`` and ``bprop(y, t)`` its derivative in ``y``."""

    def __call__(self, y: Any, t: Any) -> Any: ...

    def bprop(self, y: Any, t: Any) -> Any: ...


@runtime_checkable
class CostLike(Protocol):
    """What ``Model`` asks of its cost (neon's ``GeneralizedCost``/``Multicost``):
    ``initialize(layers)`` once the shapes are known, ``get_cost(y, t)`` the minibatch mean as
    a ``(1, 1)`` array, ``get_errors(y, t)`` the error fed back into the last layer (one per
    output for a multi-output model); ``batch_cost(y, t)`` is ``get_cost`` kept on the device."""

    def initialize(self, in_obj: Any) -> None: ...

    def batch_cost(self, y: Any, t: Any) -> Tensor: ...

    def get_cost(self, y: Any, t: Any) -> np.ndarray: ...

    def get_errors(self, y: Any, t: Any) -> Any: ...


@runtime_checkable
class MetricLike(Protocol):
    """neon's ``Metric`` as ``Model.eval`` uses it: ``metric(y, t, calcrange=slice)`` returns
    one value per name of ``metric_names``."""

    @property
    def metric_names(self) -> Sequence[str]: ...

    def __call__(self, y: Any, t: Any, calcrange: slice = ...) -> Any: ...


@runtime_checkable
class OptimizerLike(Protocol):
    """neon's ``Optimizer``: ``optimize(layer_list, epoch)`` updates the parameters of the
    layers in place from their gradients (one call per minibatch)."""

    def optimize(self, layer_list: list[Any], epoch: int) -> None: ...


# fit(optimizer=...) also takes a torch optimizer, or a factory building one from the
# parameter list (e.g. functools.partial(torch.optim.AdamW, lr=1e-3)).
OptimizerArg: TypeAlias = (
    OptimizerLike | torch.optim.Optimizer | Callable[[list[torch.nn.Parameter]], Any]
)


@runtime_checkable
class CallbackLike(Protocol):
    """neon's ``Callback`` hooks, called by a ``Callbacks`` container with the shared
    ``callback_data`` (the HDF5-like results store), the model and the epoch/minibatch
    indices (0-based). ``epoch_freq``/``minibatch_freq`` (an int period or a list of
    indices) decide when the epoch and minibatch hooks fire."""

    @property
    def epoch_freq(self) -> Any: ...

    @property
    def minibatch_freq(self) -> Any: ...

    def on_train_begin(self, callback_data: Any, model: Any, epochs: int) -> None: ...

    def on_train_end(self, callback_data: Any, model: Any) -> None: ...

    def on_epoch_begin(self, callback_data: Any, model: Any, epoch: int) -> None: ...

    def on_epoch_end(self, callback_data: Any, model: Any, epoch: int) -> None: ...

    def on_minibatch_begin(
        self, callback_data: Any, model: Any, epoch: int, minibatch: int
    ) -> None: ...

    def on_minibatch_end(
        self, callback_data: Any, model: Any, epoch: int, minibatch: int
    ) -> None: ...


@runtime_checkable
class CallbacksLike(Protocol):
    """What the training loop calls: a ``Callbacks`` container's hooks, each with the 0-based
    epoch (and minibatch) index; ``callbacks`` lists the callbacks it holds (an empty list lets
    the loop skip the per-minibatch hooks)."""

    callbacks: list[Any]

    def on_train_begin(self, epochs: int) -> None: ...

    def on_train_end(self) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_epoch_end(self, epoch: int) -> None: ...

    def on_minibatch_begin(self, epoch: int, minibatch: int) -> None: ...

    def on_minibatch_end(self, epoch: int, minibatch: int) -> None: ...
