"""neon's ``GradientDescentMomentum``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import warn_once
from ..registry import neon_type
from .optimizer import (
    Optimizer,
    check_clip,
    check_fraction,
    check_min,
    check_schedule,
    ensure_states,
)
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
        if momentum_coef == 0:
            p = (1 - lr * wdecay) * p - lr * s * g  # no state; param_clip_value ignored (neon)
        else:
            g = s * g + wdecay * p
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
        owner = type(self).__name__
        check_min(owner, "learning_rate", learning_rate)
        check_fraction(owner, "momentum_coef", momentum_coef)
        check_min(owner, "wdecay", wdecay)
        check_clip(owner, "gradient_clip_norm", gradient_clip_norm)
        check_clip(owner, "gradient_clip_value", gradient_clip_value)
        check_clip(owner, "param_clip_value", param_clip_value)
        check_schedule(owner, schedule)
        if nesterov and momentum_coef == 0:
            raise ValueError(f"{owner}: nesterov=True requires a non-zero momentum_coef.")
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

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]  # computed per instance
        return ("velocity",) if self.momentum_coef != 0 else ()

    def _prepare(self, epoch: int) -> float:
        return float(self.schedule.get_learning_rate(self.learning_rate, epoch))

    def _update(
        self,
        params: list[Tensor],
        grads: list[Tensor],
        states: list[list[Tensor]],
        bsz: int,
        ctx: Any,
    ) -> None:
        lr = ctx
        scale = self._clip_norm_scale(grads, bsz, self.gradient_clip_norm)
        g, k = self._grad_terms(grads, bsz, self.gradient_clip_value)  # neon's g = k * g
        if self.momentum_coef == 0:
            # neon: p = (-lr*s)*g + (1 - lr*wdecay)*p, and no parameter clipping
            if scale is not None:
                g = torch._foreach_mul(g, scale)
            if self.wdecay:
                torch._foreach_mul_(params, 1.0 - lr * self.wdecay)
            torch._foreach_add_(params, g, alpha=-lr * k)
            return
        # g' = s*g + wdecay*p, kept as g'/k
        if scale is not None:
            g = torch._foreach_mul(g, scale)
            if self.wdecay:
                torch._foreach_add_(g, params, alpha=self.wdecay / k)
        elif self.wdecay:
            g = torch._foreach_add(g, params, alpha=self.wdecay / k)
        ensure_states(params, states, 1)
        velocity = [s[0] for s in states]
        torch._foreach_mul_(velocity, self.momentum_coef)
        torch._foreach_add_(velocity, g, alpha=-lr * k)
        if self.nesterov:
            torch._foreach_add_(params, velocity, alpha=self.momentum_coef)
            torch._foreach_add_(params, g, alpha=-lr * k)
        else:
            torch._foreach_add_(params, velocity)
        self._clip_params(params, self.param_clip_value)
