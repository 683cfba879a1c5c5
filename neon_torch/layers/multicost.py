"""neon's ``Multicost``: one cost per output of a ``Tree``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._values import neon_values
from ..backends.backend import NervanaObject
from ..errors import LayerConfigError, ShapeMismatchError
from ..registry import neon_type

__all__ = ["Multicost"]


@neon_type("neon.layers.container.Multicost", "neon.layers.Multicost")
class Multicost(NervanaObject):
    """A weighted sum of costs, one per Tree output (in the Tree's path order).

    neon semantics:

    * the value trained on and summed into ``model.total_cost`` is ``Σ weights[i] · cost_i``;
      ``weights`` default to 1;
    * ``cost`` (what callbacks and the progress bar show) and ``outputs`` are the **first**
      cost's, unweighted;
    * each output's delta is its cost's delta times its weight;
    * targets: one tensor is used for every output, a list/tuple gives one per output (a
      ``None`` entry skips that output); given a single output (a ``SingleOutputTree`` in
      inference) only the first cost is computed, unweighted.
    """

    def __init__(
        self, costs: list[Any], weights: list[float] | None = None, name: str | None = None
    ):
        super().__init__(name)
        if not costs:
            raise LayerConfigError("Multicost needs a non-empty list of costs.")
        if weights is not None and len(weights) != len(costs):
            raise LayerConfigError(
                f"Multicost {self.name!r}: {len(weights)} weights for {len(costs)} costs."
            )
        self.costs = list(costs)
        self.weights = list(weights) if weights is not None else [1.0] * len(costs)

    def initialize(self, in_obj: Any) -> None:
        """Give each cost the shape of its output; their counts must agree."""
        shapes = getattr(in_obj, "out_shape", in_obj)
        if not isinstance(shapes, list) or len(shapes) != len(self.costs):
            count = len(shapes) if isinstance(shapes, list) else 1
            raise ShapeMismatchError(
                f"Multicost {self.name!r} has {len(self.costs)} costs but the model has "
                f"{count} output(s) ({getattr(in_obj, 'name', in_obj)!r}: {shapes!r}); give one "
                "cost per Tree path."
            )
        for cost, shape in zip(self.costs, shapes, strict=True):
            cost.initialize(shape)

    def _pairs(self, ys: Any, ts: Any) -> list[tuple[int, Tensor, Any]]:
        if not isinstance(ts, (list, tuple)):
            ts = [ts] * len(ys)
        return [(i, y, t) for i, (y, t) in enumerate(zip(ys, ts, strict=True)) if t is not None]

    def batch_cost(self, ys: Any, ts: Any) -> Tensor:
        """Weighted sum of the member costs as a 0-d device tensor (first cost alone for a
        single output)."""
        if not isinstance(ys, (list, tuple)):
            t = ts[0] if isinstance(ts, (list, tuple)) else ts
            return self.costs[0].batch_cost(ys, t)
        total: Tensor | None = None
        for i, y, t in self._pairs(ys, ts):
            value = self.costs[i].batch_cost(y, t) * self.weights[i]
            total = value if total is None else total + value
        if total is None:
            raise ShapeMismatchError(f"Multicost {self.name!r}: every target was None.")
        return total

    def get_cost(self, ys: Any, ts: Any) -> np.ndarray:
        """neon's ``get_cost``: the weighted sum as a ``(1, 1)`` float32 array."""
        value = self.batch_cost(ys, ts)
        return neon_values(value.detach().cpu(), (1, 1))

    def get_errors(self, ys: Any, ts: Any) -> list[Tensor]:
        """Each output's delta times its weight (zeros where the target is None)."""
        deltas = [torch.zeros_like(y) for y in ys]
        for i, y, t in self._pairs(ys, ts):
            deltas[i] = self.costs[i].get_errors(y, t) * self.weights[i]
        return deltas

    @property
    def cost(self) -> np.ndarray | None:
        """The first cost's last value (unweighted), as neon's callbacks show it."""
        return self.costs[0].cost

    @property
    def _cost(self) -> Tensor | None:
        """The first cost's last value as a device tensor (read by ``TrainCostCallback``)."""
        return self.costs[0]._cost

    @property
    def outputs(self) -> Tensor | None:
        """The first cost's per-sample values."""
        return self.costs[0].outputs

    @property
    def costfunc(self) -> Any:
        """The first cost's cost function."""
        return self.costs[0].costfunc
