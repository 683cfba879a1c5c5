"""The training loop behind ``Model.fit``.

It keeps the device busy: minibatch costs accumulate on the device and are read only when a
callback asks; neon iterators already hold their data on the device.

``optimizer`` may also be a ``torch.optim.Optimizer`` or a factory building one from the
parameter list (e.g. ``functools.partial(torch.optim.AdamW, lr=1e-3)``): it then runs through
:class:`~neon_torch.optimizers.torch_adapter.TorchOptimizerStep`, which divides the summed
gradients by ``be.bsz`` before ``step()`` so the torch optimizer sees batch-mean gradients.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import Tensor

from .. import distributed
from ..backends.backend import current_backend
from ..optimizers.torch_adapter import fit_optimizer
from . import _speed
from ._data import as_batches, prepare_target

__all__ = [
    "TrainStep",
    "backward_errors",
    "detach_outputs",
    "fit",
    "inference_outputs",
    "nbatches",
]


class _NoCallbacks:
    """Stands in for a ``Callbacks`` container when ``fit`` gets none."""

    callbacks: ClassVar[list[Any]] = []

    def on_train_begin(self, epochs: int) -> None: ...
    def on_train_end(self) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_epoch_end(self, epoch: int) -> None: ...
    def on_minibatch_begin(self, epoch: int, minibatch: int) -> None: ...
    def on_minibatch_end(self, epoch: int, minibatch: int) -> None: ...


def nbatches(dataset: Any) -> int:
    """neon's ``dataset.nbatches``, or ``len(dataset)`` for a plain iterable (0 if unknown)."""
    count = getattr(dataset, "nbatches", None)
    if count is not None:
        return int(count)
    try:
        return len(dataset)
    except TypeError:
        return 0


def fit(model: Any, dataset: Any, cost: Any, optimizer: Any, num_epochs: int, callbacks: Any):
    optimizer = fit_optimizer(model, optimizer)
    callbacks = callbacks if callbacks is not None else _NoCallbacks()
    callbacks.on_train_begin(num_epochs)
    while model.epoch_index < num_epochs and not model.finished:
        epoch = model.epoch_index
        model.nbatches = nbatches(dataset)
        callbacks.on_epoch_begin(epoch)
        _epoch(model, dataset, cost, optimizer, callbacks, epoch)
        model.run_state.epoch_done = True  # checkpoints written now count this epoch as completed
        callbacks.on_epoch_end(epoch)
        model.epoch_index += 1
        model.run_state.epoch_done = False
    callbacks.on_train_end()


def inference_outputs(model: Any, dataset: Any) -> Iterator[tuple[Any, Any, int]]:
    """The one inference loop (``eval``, ``get_outputs``, ``eval_loss``): the dataset checked
    against the backend and the model, a neon iterator reset, then per minibatch
    ``(y, t, n)``: the inference output, the raw target and ``n``, how many of its rows are
    samples to count (neon leaves out the wrapped samples of the last minibatch; in a
    data-parallel job this rank's share). ``model`` must be initialized."""
    be = current_backend()
    distributed.check_dataset(dataset, be.bsz, be.device)
    model._check_dataset(dataset)
    if hasattr(dataset, "reset"):
        dataset.reset()
    sharded = distributed.shards(dataset)
    ndata = getattr(dataset, "ndata", None)
    seen = 0
    for x, t in as_batches(dataset, be):
        y = model.fprop(x, inference=True)
        n, covered = distributed.valid_rows(ndata, seen, y.shape[0], sharded)
        seen += covered
        yield y, t, n


def detach_outputs(y: Any, be: Any) -> tuple[list[Tensor], Any]:
    """The model's outputs as a list (a Tree has one per path) and, as the cost reads them,
    detached in full precision (one tensor, or the list for a Tree)."""
    ys = y if isinstance(y, list) else [y]
    outs = [v.detach().to(be.torch_dtype) for v in ys]
    return ys, (outs if isinstance(y, list) else outs[0])


def backward_errors(ys: list[Tensor], errors: Any, scale: float = 1.0) -> None:
    """Back-propagate neon's cost errors (one tensor, or one per output of a Tree), times the
    loss ``scale`` of float16 training, into the parameters' ``.grad``."""
    errors = errors if isinstance(errors, list) else [errors]
    if scale != 1.0:
        errors = [e * scale for e in errors]
    torch.autograd.backward(ys, [e.to(v.dtype) for e, v in zip(errors, ys, strict=True)])


class TrainStep:
    """One neon training iteration over ``model``, split in its two timed halves.

    ``forward(x)`` runs the model (autocast as the backend asks); ``backward(y, t, epoch)``
    computes the batch cost (returned as a device tensor, never read here), back-propagates
    neon's cost errors (float16 loss scaling included) and lets the optimizer update the
    layers. ``fit`` and the benchmarks share it.
    """

    def __init__(self, model: Any, cost: Any, optimizer: Any, be: Any) -> None:
        self.model, self.cost, self.optimizer, self.be = model, cost, optimizer, be
        self.ddp = model.run_state.ddp  # data parallel: train through the DDP wrapper
        self.module = _speed.runner(model, be, training=True)
        # neon's errors are summed over the batch, so start where a batch-mean loss scaled by
        # torch's default 2**16 would be
        if model.run_state.loss_scale is None:
            model.run_state.loss_scale = _speed.LossScale(2.0**16 / max(be.bsz, 1))
        self.scaler = model.run_state.loss_scale
        self.scaled = be.amp_dtype is torch.float16
        model._set_mode(True)
        self.layers = model.layers_to_optimize
        self.params = list(self.module.parameters())

    def forward(self, x: Any) -> Any:
        for p in self.params:
            p.grad = None
        with _speed.autocast(self.be):
            return self.module(x)

    def backward(self, y: Any, t: Any, epoch: int) -> Tensor:
        ys, out = detach_outputs(y, self.be)
        t = prepare_target(t, out)
        value = self.cost.batch_cost(out, t)
        if self.ddp is not None:  # every rank reports the cost of the global minibatch
            value = distributed.global_cost(self.cost, value, ys[0].shape[0])
        scale = self.scaler.scale if self.scaled else 1.0
        backward_errors(ys, self.cost.get_errors(out, t), scale)
        if not self.scaled or self.scaler.unscale(self.params):
            self.optimizer.optimize(self.layers, epoch=epoch)
        return value


def _epoch(model: Any, dataset: Any, cost: Any, optimizer: Any, callbacks: Any, epoch: int):
    be = current_backend()
    step = TrainStep(model, cost, optimizer, be)
    hooks = bool(callbacks.callbacks)
    total = torch.zeros((), dtype=be.torch_dtype, device=be.device)
    count = 0
    for mb, (x, t) in enumerate(as_batches(dataset, be)):
        if hooks:
            callbacks.on_minibatch_begin(epoch, mb)
        total += step.backward(step.forward(x), t, epoch)
        count += 1
        if hooks:
            callbacks.on_minibatch_end(epoch, mb)
    # neon divides by nbatches read *after* the epoch (it can differ after a wrap-around).
    divisor = nbatches(dataset) or count
    model.run_state.total_cost = total / divisor
    model.run_state.last_output = None
