"""``Model.benchmark`` and ``neon.benchmark.Benchmark``: neon's timing of forward, backward and
whole iterations, on the same training step as ``fit``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..backends.backend import Backend, current_backend
from ..compat._logger import neon_logger
from ..errors import NotConfiguredError
from ..optimizers.torch_adapter import fit_optimizer
from . import _speed
from ._data import as_batches
from ._loop import TrainStep

__all__ = ["benchmark", "format_table", "sync", "timed_iterations"]


def sync(be: Backend) -> None:
    """Wait for the device (CUDA kernels run asynchronously; the CPU needs nothing)."""
    if be.device.type == "cuda":
        torch.cuda.synchronize(be.device)


def _minibatches(dataset: Any, be: Backend, count: int) -> Iterator[Any]:
    """``count`` minibatches, resetting and re-reading the dataset as often as needed."""
    served = 0
    while served < count:
        if hasattr(dataset, "reset"):
            dataset.reset()
        before = served
        for batch in as_batches(dataset, be):
            yield batch
            served += 1
            if served == count:
                return
        if served == before:
            raise NotConfiguredError("benchmark: the dataset yielded no minibatch.")


def timed_iterations(
    model: Any, dataset: Any, inference: bool, cost: Any, optimizer: Any, count: int
) -> Iterator[tuple[float, float, float]]:
    """Run ``count`` minibatches and yield ``(data_ms, fprop_ms, bprop_ms)`` for each.

    Training iterations are ``fit``'s own step (forward, cost, neon's errors backward, one
    optimizer update: the weights really change); ``inference=True`` runs the forward pass
    only (``bprop_ms`` is then 0). Every phase ends with a device synchronisation.
    """
    be = current_backend()
    if inference:
        module = _speed.runner(model, be)
        model._set_mode(False)
    else:
        step = TrainStep(model, cost, fit_optimizer(model, optimizer), be)
    mark = time.perf_counter()
    for x, t in _minibatches(dataset, be, count):
        sync(be)
        start = time.perf_counter()
        if inference:
            with torch.no_grad(), _speed.autocast(be):
                module(x)
        else:
            y = step.forward(x)
        sync(be)
        middle = time.perf_counter()
        if not inference:
            step.backward(y, t, epoch=0)
            sync(be)
        end = time.perf_counter()
        yield (start - mark) * 1e3, (middle - start) * 1e3, (end - middle) * 1e3
        mark = time.perf_counter()


def benchmark(
    model: Any,
    dataset: Any,
    inference: bool = False,
    cost: Any = None,
    optimizer: Any = None,
    niterations: int = 20,
    nskip: int = 2,
) -> dict[str, dict[str, float]]:
    """Time ``niterations`` minibatches after ``nskip`` warm-up ones (see ``Model.benchmark``)."""
    if not inference and (cost is None or optimizer is None):
        raise NotConfiguredError(
            "benchmark(inference=False) trains, so it needs cost= and optimizer=; pass them, "
            "or inference=True to time the forward pass only."
        )
    model.initialize(dataset, cost)
    if cost is not None:
        model.cost = cost
    fprop, bprop = [], []
    for _, f, b in timed_iterations(
        model, dataset, inference, cost, optimizer, niterations + nskip
    ):
        fprop.append(f)
        bprop.append(b)
    times = {"fprop": fprop}
    if not inference:
        times["bprop"] = bprop
        times["iteration"] = [f + b for f, b in zip(fprop, bprop, strict=True)]
    stats = {
        step: {name: float(fn(np.asarray(values[nskip:]))) for name, fn in _STATS}
        for step, values in times.items()
    }
    rows = {step: list(values.values()) for step, values in stats.items()}
    for line in format_table(rows, [name.title() for name, _ in _STATS], width=11):
        neon_logger.display(line)
    return stats


_STATS = (("mean", np.mean), ("median", np.median), ("min", np.min), ("max", np.max))


def format_table(
    rows: dict[str, list[float]], columns: list[str], width: int, boxed: bool = False
) -> list[str]:
    """neon's benchmark table: a ``| Func | <columns> | Units |`` header between rules and one
    row of values per timed step in msec, the function column ``width`` wide. Rules are dashes
    (``Model.benchmark``) or, ``boxed``, dashes between ``+`` corners (``Benchmark``)."""
    titles = f"| {'Func':^{width}} " + "".join(f"| {h:^11} " for h in [*columns, "Units"]) + "|"
    rule = "+" + "-" * (len(titles) - 2) + "+" if boxed else "-" * len(titles)
    lines = [rule, titles, rule]
    for step, values in rows.items():
        cells = "".join(f"|  {v:<10.5g} " for v in values)
        lines.append(f"| {step:<{width}} {cells}| {'msec':^11} |")
    lines.append(rule)
    return lines
