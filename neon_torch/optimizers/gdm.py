"""neon's ``GradientDescentMomentum``."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import warn_once
from ..registry import neon_type
from .optimizer import Optimizer
from .schedule import Schedule

__all__ = ["GradientDescentMomentum"]

_DEFAULT_SCHEDULE = Schedule()


@neon_type(
    "neon.optimizers.optimizer.GradientDescentMomentum",
    "neon.optimizers.GradientDescentMomentum",
)
class GradientDescentMomentum(Optimizer):
    """Stochastic gradient descent with momentum, coupled weight decay and neon's clipping.

    The update for every parameter ``p`` with summed gradient ``dW`` (neon's exact order)::

        lr = schedule.get_learning_rate(learning_rate, epoch)
        s  = c / max(sqrt(Σ_all dW²) / bsz, c)   # gradient_clip_norm = c, else 1
        g  = clip(dW / bsz, ±gradient_clip_value) # clipping only when set
        g  = s * g + wdecay * p
        if momentum_coef == 0:
            p = p - lr * g                        # no state; param_clip_value ignored (neon)
        else:
            v = momentum_coef * v - lr * g        # state [v]: the velocity includes lr
            p = p + momentum_coef * v - lr * g    # nesterov
            p = p + v                             # otherwise
            p = clip(p, ±param_clip_value)        # when set

    This differs from ``torch.optim.SGD``, whose buffer leaves out the learning rate.
    ``stochastic_round`` only affected neon's fp16 GPU kernels and is ignored.
    """

    def __init__(
        self,
        learning_rate: float,
        momentum_coef: float,
        stochastic_round: bool = False,
        wdecay: float = 0.0,
        gradient_clip_norm: float | None = None,
        gradient_clip_value: float | None = None,
        param_clip_value: float | None = None,
        name: str | None = None,
        schedule: Any = _DEFAULT_SCHEDULE,
        nesterov: bool = False,
    ) -> None:
        if learning_rate < 0:
            raise ValueError(f"learning_rate must be >= 0, got {learning_rate!r}.")
        if not 0 <= momentum_coef < 1:
            raise ValueError(f"momentum_coef must be in [0, 1), got {momentum_coef!r}.")
        if nesterov and momentum_coef == 0:
            raise ValueError("nesterov=True requires a non-zero momentum_coef.")
        super().__init__(name)
        self.learning_rate = learning_rate
        self.momentum_coef = momentum_coef
        self.stochastic_round = stochastic_round
        self.wdecay = wdecay
        self.gradient_clip_norm = gradient_clip_norm
        self.gradient_clip_value = gradient_clip_value
        self.param_clip_value = param_clip_value
        self.schedule = schedule
        self.nesterov = nesterov
        if stochastic_round:
            warn_once(
                "gdm.stochastic_round",
                "stochastic_round only affected neon's fp16 GPU kernels; it is ignored.",
            )

    @torch.no_grad()
    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        """Update the parameters of ``layer_list`` once, with the rate of ``epoch``."""
        group = self._group(layer_list)
        if not group.params:
            return
        bsz = self._bsz()
        lr = self.schedule.get_learning_rate(self.learning_rate, epoch)
        grads = group.grads()
        scale = self._clip_norm_scale(grads, bsz, self.gradient_clip_norm)
        g = self._scaled_grads(grads, bsz, self.gradient_clip_value)
        if scale is not None:
            torch._foreach_mul_(g, scale)
        if self.wdecay:
            torch._foreach_add_(g, group.params, alpha=self.wdecay)
        if self.momentum_coef == 0:
            torch._foreach_add_(group.params, g, alpha=-lr)
            return
        group.ensure_states(1)
        velocity = group.state(0)
        torch._foreach_mul_(velocity, self.momentum_coef)
        torch._foreach_add_(velocity, g, alpha=-lr)
        if self.nesterov:
            torch._foreach_add_(group.params, velocity, alpha=self.momentum_coef)
            torch._foreach_add_(group.params, g, alpha=-lr)
        else:
            torch._foreach_add_(group.params, velocity)
        self._clip_params(group.params, self.param_clip_value)
