"""``Model.benchmark``: neon's timing of forward, backward and whole iterations."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..backends.backend import Backend, current_backend
from ..errors import NotConfiguredError
from ..optimizers.torch_adapter import fit_optimizer
from . import _speed
from ._data import as_batches, prepare_target
from ._loop import backward_errors, detach_outputs

__all__ = ["benchmark"]


def _sync(be: Backend) -> None:
    if be.device.type == "cuda":
        torch.cuda.synchronize(be.device)


def _stats(times: list[float]) -> dict[str, float]:
    values = np.asarray(times) * 1000.0
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _minibatches(dataset: Any, be: Backend, count: int) -> Any:
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
    be = current_backend()
    model.initialize(dataset, cost)
    if cost is not None:
        model.cost = cost
    opt = fit_optimizer(model, optimizer) if not inference else None
    module = _speed.runner(model, be)
    model._set_mode(not inference)
    layers = model.layers_to_optimize
    params = list(model.layers.parameters())
    fprop: list[float] = []
    bprop: list[float] = []
    for i, (x, t) in enumerate(_minibatches(dataset, be, niterations + nskip)):
        _sync(be)
        start = time.perf_counter()
        with torch.set_grad_enabled(not inference), _speed.autocast(be):
            y = module(x)
        _sync(be)
        middle = time.perf_counter()
        if not inference:
            for p in params:
                p.grad = None
            ys, out = detach_outputs(y, be)
            backward_errors(ys, cost.get_errors(out, prepare_target(t, out)))
            opt.optimize(layers, epoch=0)  # type: ignore[union-attr]  # weights really change
            _sync(be)
        end = time.perf_counter()
        if i >= nskip:
            fprop.append(middle - start)
            bprop.append(end - middle)
    result = {"fprop": _stats(fprop)}
    if not inference:
        result["bprop"] = _stats(bprop)
        result["iteration"] = _stats([f + b for f, b in zip(fprop, bprop, strict=True)])
    else:
        result["iteration"] = result["fprop"]
    _display(result)
    return result


def _display(result: dict[str, dict[str, float]]) -> None:
    print(f"{'Func':<10}|{'Mean':>10} |{'Median':>10} |{'Min':>10} |{'Max':>10} | Units")
    for name, s in result.items():
        print(
            f"{name:<10}|{s['mean']:10.4f} |{s['median']:10.4f} |{s['min']:10.4f} |"
            f"{s['max']:10.4f} | msec"
        )
