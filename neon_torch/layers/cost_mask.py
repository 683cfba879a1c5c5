"""neon's ``GeneralizedCostMask``: a cost whose targets come with a mask."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ..errors import ShapeMismatchError
from ..registry import neon_type
from .cost import GeneralizedCost

__all__ = ["GeneralizedCostMask"]


@neon_type("neon.layers.layer.GeneralizedCostMask", "neon.layers.GeneralizedCostMask")
class GeneralizedCostMask(GeneralizedCost):
    """A cost over masked outputs: targets arrive as ``(t, mask)``, ``mask`` shaped like ``y``.

    neon semantics: the value is ``costfunc(y · mask, t · mask) · weights`` averaged over the
    batch; the delta is ``costfunc.bprop(y, t) · mask · weights`` (computed on the unmasked
    ``y`` and ``t``, then masked), so masked entries send no gradient.

    neon writes this cost into one array in place every minibatch (``cost_written_in_place``),
    so ``TrainCostCallback`` records each minibatch's own cost, not a moving average.
    """

    cost_written_in_place: ClassVar[bool] = True

    def __init__(self, costfunc: Any, weights: float = 1.0, name: str | None = None) -> None:
        super().__init__(costfunc, name)
        self.weights = weights

    def _split(self, targets: Any) -> tuple[Tensor, Tensor]:
        if not isinstance(targets, (tuple, list)) or len(targets) != 2:
            raise ShapeMismatchError(
                f"{self.name}: GeneralizedCostMask needs targets as a (t, mask) pair, got "
                f"{type(targets).__name__}. Have the data iterator yield (x, (t, mask))."
            )
        return targets[0], targets[1]

    def batch_cost(self, y: Tensor, t: Any) -> Tensor:
        target, mask = self._split(t)
        y2, target2 = self._views(y, target)
        _, mask2 = self._views(y, mask)
        with torch.no_grad():
            self.outputs = self.costfunc(y2 * mask2, target2 * mask2) * self.weights
            self._cost = self.outputs.mean()
        return self._cost

    def get_errors(self, y: Tensor, t: Any) -> Tensor:
        target, mask = self._split(t)
        shape = y.shape
        y2, target2 = self._views(y, target)
        _, mask2 = self._views(y, mask)
        with torch.no_grad():
            return (self.costfunc.bprop(y2, target2) * mask2 * self.weights).reshape(shape)
