"""``neon.benchmark.Benchmark``: time a model's minibatches and each of its layers.

neon semantics: ``Benchmark(model)`` instruments every leaf layer of the (initialized) model
so that each forward and backward call of the layer is timed; ``time(dataset, inference,
niterations)`` then runs ``niterations`` training minibatches with the model's own ``cost``
and ``optimizer`` (the weights really change) and returns an ordered dict of per-iteration
times in milliseconds: ``fprop`` (data loading included, as neon), ``bprop``, ``iteration``,
``data_loading`` and one ``'fprop <layer name>'`` / ``'bprop <layer name>'`` entry per layer;
``print_stats(stats, nskip=...)`` prints neon's boxed table of mean, median, min and max.

neon_torch: a layer's forward time runs from its forward pre-hook to its forward hook; its
backward time from the moment the gradient of its output arrives to the moment the gradient
of its input is complete (for a first layer, whose input needs no gradient, until its weight
gradients are complete). Every mark synchronises the device, so these are wall-clock times on
the CPU and on CUDA alike.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from torch import Tensor, nn
from torch.autograd.graph import register_multi_grad_hook

from .._types import Dataset
from .._version import NEON_VERSION
from ..backends.backend import current_backend
from ..compat._logger import neon_logger
from ..errors import NotConfiguredError, UnsupportedNeonFeature
from ..layers.container import LayerContainer
from ..models._benchmark import format_table, sync, timed_iterations

__all__ = ["Benchmark"]


def _leaf_layers(container: Any) -> list[Any]:
    """The layers of ``container`` and of every nested container, depth first (neon's
    ``flatten_layers`` of the benchmark)."""
    out: list[Any] = []
    for layer in container.layers:
        if isinstance(layer, LayerContainer):
            out.extend(_leaf_layers(layer))
        else:
            out.append(layer)
    return out


def _tensors(value: Any) -> list[Tensor]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if isinstance(v, Tensor)]


class _LayerClock:
    """Forward and backward timings of one layer.

    Forward: module pre/post hooks. Backward: at each forward call, a hook on the output (its
    gradient arrives: the layer's backward starts) and one on the input (its gradient is
    complete: the layer's backward ends) or, when the input needs no gradient, on the layer's
    parameters (their gradients are complete).
    """

    def __init__(self, layer: nn.Module, fprop: list[float], bprop: list[float]) -> None:
        self.fprop, self.bprop = fprop, bprop
        self._layer = layer
        self._start = 0.0
        self._back = 0.0
        self._be = current_backend()
        layer.register_forward_pre_hook(self._forward_start)
        layer.register_forward_hook(self._forward_end)

    def _now(self) -> float:
        sync(self._be)
        return time.perf_counter()

    def _forward_start(self, _module: nn.Module, args: tuple[Any, ...]) -> None:
        self._start = self._now()

    def _forward_end(self, _module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        self.fprop.append((self._now() - self._start) * 1e3)
        outs = [t for t in _tensors(output) if t.requires_grad]
        if not outs:
            return
        # the hooks hold the clock weakly: tensors kept by the layer (neon's ``outputs``) must
        # not keep the layer alive through a hook
        clock = weakref.ref(self)

        def start(_grad: Tensor) -> None:
            if (me := clock()) is not None:
                me._backward_start()

        def end(_grad: Any) -> None:
            if (me := clock()) is not None:
                me._backward_end()

        outs[0].register_hook(start)
        ins = [t for a in args for t in _tensors(a) if t.requires_grad]
        params = [p for p in self._layer.parameters() if p.requires_grad]
        if ins:
            ins[0].register_hook(end)
        elif params:
            handle: list[Any] = []

            def done(_grads: Any) -> None:
                handle[0].remove()  # one backward pass per forward call
                end(None)

            handle.append(register_multi_grad_hook(params, done))

    def _backward_start(self) -> None:
        self._back = self._now()

    def _backward_end(self) -> None:
        self.bprop.append((self._now() - self._back) * 1e3)


class Benchmark:
    """Per-layer and per-iteration timing of ``model`` (see the module docstring).

    Args:
        model: an initialized ``Model`` (``model.initialize(dataset, cost=...)``) with an
            ``optimizer`` when training iterations are timed.
        time_layers: instrument every layer (neon's default) or time whole iterations only.
    """

    def __init__(self, model: Any, time_layers: bool = True) -> None:
        self.model = model
        self.time_layers = time_layers
        self.layer_times: OrderedDict[str, list[float]] = OrderedDict()
        if not time_layers:
            return
        if not getattr(model, "initialized", False):
            raise NotConfiguredError(
                "Benchmark(model): the model is not initialized; call "
                "model.initialize(dataset, cost=cost) first, as neon's scripts do."
            )
        self._clocks = []
        for layer in _leaf_layers(model.layers):
            fprop = self.layer_times.setdefault("fprop " + layer.name, [])
            bprop = self.layer_times.setdefault("bprop " + layer.name, [])
            self._clocks.append(_LayerClock(layer, fprop, bprop))

    def time(
        self, dataset: Dataset, inference: bool = False, niterations: int = 20
    ) -> OrderedDict[str, Any]:
        """Run ``niterations`` minibatches of ``dataset`` and return neon's timing dict (in
        milliseconds per iteration; the layer entries hold one value per call)."""
        if not dataset:
            raise ValueError("Benchmark.time: provide a dataset to time.")
        if niterations < 1:
            raise ValueError(f"Benchmark.time: niterations must be >= 1, got {niterations}.")
        cost, optimizer = self.model.cost, getattr(self.model, "optimizer", None)
        if not inference and (cost is None or optimizer is None):
            raise NotConfiguredError(
                "Benchmark.time(inference=False) trains: the model needs a cost "
                "(model.initialize(dataset, cost=...)) and an optimizer (Model(..., "
                "optimizer=...)); or pass inference=True."
            )
        keys = ["fprop"] if inference else ["fprop", "bprop", "iteration"]
        if self.time_layers:
            keys.append("data_loading")
        times: OrderedDict[str, Any] = OrderedDict((k, np.full(niterations, -1.0)) for k in keys)
        runs = timed_iterations(self.model, dataset, inference, cost, optimizer, niterations)
        for i, (data, fprop, bprop) in enumerate(runs):
            times["fprop"][i] = fprop + data
            if not inference:
                times["bprop"][i] = bprop
                times["iteration"][i] = fprop + data + bprop
            if self.time_layers:
                times["data_loading"][i] = data
        times.update(self.layer_times)
        return times

    def time_gan(self, dataset: Dataset, niterations: int = 101) -> OrderedDict[str, Any]:
        """neon's GAN timing; neon_torch has no ``GAN`` model yet."""
        raise UnsupportedNeonFeature(
            "Benchmark.time_gan: neon's GAN model is not provided by neon_torch yet; time a "
            "GAN's steps with Benchmark.time on its discriminator and generator models."
        )

    @staticmethod
    def print_stats(
        stats: dict[str, Any],
        functions: Iterable[Callable[[np.ndarray], Any]] | None = None,
        output: Any = None,
        nskip: int = 0,
    ) -> None:
        """Print ``stats`` (from :meth:`time`) as neon's boxed table, skipping the first
        ``nskip`` values of every entry; ``functions`` default to mean, median, min, max;
        ``output`` is anything with a ``display(str)`` method (neon's logger by default)."""
        if not stats:
            raise ValueError("Benchmark.print_stats: provide the stats that time() returned.")
        if output is None:
            output = neon_logger
        elif not hasattr(output, "display"):
            raise TypeError("Benchmark.print_stats: output must have a display(str) method.")
        fns: list[Callable[..., Any]] = (
            list(functions) if functions is not None else [np.mean, np.median, np.min, np.max]
        )
        rows = {
            step: [float(fn(np.asarray(values[nskip:], dtype=np.float64))) for fn in fns]
            for step, values in stats.items()
            if np.any(np.asarray(values))  # neon leaves out entries that never ran
        }
        lines = format_table(rows, [fn.__name__.title() for fn in fns], width=33, boxed=True)
        banner = f"  Intel Neon Benchmark: 0.0.2 Neon Version: {NEON_VERSION[:5]}  "
        lines[1:1] = [f"|{banner:-^{len(lines[0]) - 2}}|", lines[0]]
        output.display("\n" + "\n".join(lines))
