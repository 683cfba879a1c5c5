"""neon's adaptive optimizers: ``RMSProp``, ``Adagrad``, ``Adadelta``, ``Adam``, ``ShiftAdaMax``.

Every rule starts from ``g = dW / bsz`` (``dW`` = the gradient summed over the minibatch, see
:mod:`neon_torch.optimizers.optimizer`) and follows neon 2.6's float32 operation order where
that costs nothing extra. States are created as zeros on the first update, one list per
parameter in neon's order (they are what ``.prm`` files store under ``states``).
``stochastic_round`` only affected neon's fp16 GPU kernels; it is accepted and ignored.
"""

from __future__ import annotations

import math
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

__all__ = ["Adadelta", "Adagrad", "Adam", "RMSProp", "ShiftAdaMax"]

_MODULE = "neon.optimizers.optimizer"
_DEFAULT_SCHEDULE = Schedule()


def _stochastic_round_note(owner: str, stochastic_round: bool) -> None:
    if stochastic_round:
        warn_once(
            f"{owner}.stochastic_round",
            "stochastic_round only affected neon's fp16 GPU kernels; it is ignored.",
        )


def _scale_numerator(
    g: list[Tensor] | tuple[Tensor, ...], scale: Tensor | None
) -> list[Tensor] | tuple[Tensor, ...]:
    """``s * g`` for the global norm scale ``s`` (a no-op when clipping is off)."""
    if scale is None:
        return g
    return torch._foreach_mul(g, scale)


@neon_type(f"{_MODULE}.RMSProp", "neon.optimizers.RMSProp")
class RMSProp(Optimizer):
    """RMSProp with neon's two epsilons::

        lr = schedule.get_learning_rate(learning_rate, epoch)
        g  = clip(dW / bsz, ±gradient_clip_value)
        S  = decay_rate * S + (1 - decay_rate) * g²          # state [S]
        p  = clip(p - s * lr * g / (sqrt(S + ε) + ε), ±param_clip_value)

    ``s`` is the ``gradient_clip_norm`` scale. Unlike ``torch.optim.RMSprop``, ε appears inside
    and outside the square root.
    """

    state_names = ("mean_square",)

    def __init__(
        self,
        stochastic_round: bool = False,
        decay_rate: float = 0.95,
        learning_rate: float = 2e-3,
        epsilon: float = 1e-6,
        gradient_clip_norm: float | None = None,
        gradient_clip_value: float | None = None,
        param_clip_value: float | None = None,
        name: str | None = None,
        schedule: Any = _DEFAULT_SCHEDULE,
    ) -> None:
        owner = type(self).__name__
        check_fraction(owner, "decay_rate", decay_rate)
        check_min(owner, "learning_rate", learning_rate)
        check_min(owner, "epsilon", epsilon)
        check_clip(owner, "gradient_clip_norm", gradient_clip_norm)
        check_clip(owner, "gradient_clip_value", gradient_clip_value)
        check_clip(owner, "param_clip_value", param_clip_value)
        check_schedule(owner, schedule)
        super().__init__(name)
        self.stochastic_round = stochastic_round
        self.decay_rate = decay_rate
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.gradient_clip_norm = gradient_clip_norm
        self.gradient_clip_value = gradient_clip_value
        self.param_clip_value = param_clip_value
        self.schedule = schedule
        _stochastic_round_note(owner, stochastic_round)

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
        lr, decay, eps = ctx, self.decay_rate, self.epsilon
        scale = self._clip_norm_scale(grads, bsz, self.gradient_clip_norm)
        g, k = self._grad_terms(grads, bsz, self.gradient_clip_value)  # neon's g = k * g
        ensure_states(params, states, 1)
        mean_sq = [s[0] for s in states]
        torch._foreach_mul_(mean_sq, decay)
        torch._foreach_addcmul_(mean_sq, g, g, value=(1.0 - decay) * k * k)
        denom = torch._foreach_add(mean_sq, eps)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(params, _scale_numerator(g, scale), denom, value=-lr * k)
        self._clip_params(params, self.param_clip_value)


@neon_type(f"{_MODULE}.Adagrad", "neon.optimizers.Adagrad")
class Adagrad(Optimizer):
    """Adagrad (no schedule)::

        g = clip(dW / bsz, ±gradient_clip_value)
        G = G + g²                                            # state [G]
        p = clip(p - s * learning_rate * g / sqrt(G + ε), ±param_clip_value)

    ε sits inside the square root (``torch.optim.Adagrad`` adds it outside).
    """

    state_names = ("sum_square",)

    def __init__(
        self,
        stochastic_round: bool = False,
        learning_rate: float = 0.01,
        epsilon: float = 1e-6,
        gradient_clip_norm: float | None = None,
        gradient_clip_value: float | None = None,
        param_clip_value: float | None = None,
        name: str | None = None,
    ) -> None:
        owner = type(self).__name__
        check_min(owner, "learning_rate", learning_rate)
        check_min(owner, "epsilon", epsilon)
        check_clip(owner, "gradient_clip_norm", gradient_clip_norm)
        check_clip(owner, "gradient_clip_value", gradient_clip_value)
        check_clip(owner, "param_clip_value", param_clip_value)
        super().__init__(name)
        self.stochastic_round = stochastic_round
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.gradient_clip_norm = gradient_clip_norm
        self.gradient_clip_value = gradient_clip_value
        self.param_clip_value = param_clip_value
        _stochastic_round_note(owner, stochastic_round)

    def _prepare(self, epoch: int) -> float:
        return float(self.learning_rate)

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
        ensure_states(params, states, 1)
        sum_sq = [s[0] for s in states]
        torch._foreach_addcmul_(sum_sq, g, g, value=k * k)
        denom = torch._foreach_add(sum_sq, self.epsilon)
        torch._foreach_sqrt_(denom)
        torch._foreach_addcdiv_(params, _scale_numerator(g, scale), denom, value=-lr * k)
        self._clip_params(params, self.param_clip_value)


@neon_type(f"{_MODULE}.Adadelta", "neon.optimizers.Adadelta")
class Adadelta(Optimizer):
    """Adadelta (no learning rate, schedule or gradient clipping)::

        g  = dW / bsz
        Eg = decay * Eg + (1 - decay) * g²                    # state 0
        Δ  = sqrt((Ex + ε) / (Eg + ε)) * g                    # state 2 (the last step)
        Ex = decay * Ex + (1 - decay) * Δ²                    # state 1
        p  = clip(p - Δ, ±param_clip_value)

    States ``[Eg, Ex, Δ]`` (neon's order).
    """

    state_names = ("mean_square_grad", "mean_square_delta", "delta")

    def __init__(
        self,
        stochastic_round: bool = False,
        decay: float = 0.95,
        epsilon: float = 1e-6,
        param_clip_value: float | None = None,
        name: str | None = None,
    ) -> None:
        owner = type(self).__name__
        check_fraction(owner, "decay", decay)
        check_min(owner, "epsilon", epsilon)
        check_clip(owner, "param_clip_value", param_clip_value)
        super().__init__(name)
        self.stochastic_round = stochastic_round
        self.decay = decay
        self.epsilon = epsilon
        self.param_clip_value = param_clip_value
        _stochastic_round_note(owner, stochastic_round)

    def _prepare(self, epoch: int) -> None:
        return None

    def _update(
        self,
        params: list[Tensor],
        grads: list[Tensor],
        states: list[list[Tensor]],
        bsz: int,
        ctx: Any,
    ) -> None:
        decay, eps = self.decay, self.epsilon
        k = 1.0 / bsz  # neon's g = k * dW
        ensure_states(params, states, 3)
        eg = [s[0] for s in states]
        ex = [s[1] for s in states]
        delta = [s[2] for s in states]
        torch._foreach_mul_(eg, decay)
        torch._foreach_addcmul_(eg, grads, grads, value=(1.0 - decay) * k * k)
        # Δ = sqrt((Ex + ε) / (Eg + ε)) * g, with the 1/bsz of g moved under the root
        denom = torch._foreach_add(eg, eps)
        torch._foreach_mul_(denom, float(bsz) * bsz)
        torch._foreach_copy_(delta, ex)
        torch._foreach_add_(delta, eps)
        torch._foreach_div_(delta, denom)
        torch._foreach_sqrt_(delta)
        torch._foreach_mul_(delta, grads)
        torch._foreach_mul_(ex, decay)
        torch._foreach_addcmul_(ex, delta, delta, value=1.0 - decay)
        torch._foreach_sub_(params, delta)
        self._clip_params(params, self.param_clip_value)


@neon_type(f"{_MODULE}.Adam", "neon.optimizers.Adam")
class Adam(Optimizer):
    """Adam, with the bias correction folded into the step size (no schedule)::

        t  = t + 1                                           # once per optimize() call
        l  = learning_rate * sqrt(1 - β2^t) / (1 - β1^t)
        g  = clip(dW / bsz, ±gradient_clip_value)
        m  = β1 * m + (1 - β1) * g;  v = β2 * v + (1 - β2) * g²   # states [m, v]
        p  = clip(p - s * l * m / (sqrt(v) + ε), ±param_clip_value)

    ε is added to the *uncorrected* ``sqrt(v)`` (``torch.optim.Adam`` adds it to the corrected
    one). ``t`` is an attribute: neon never saves it, so a model reloaded from a ``.prm`` file
    restarts the bias correction at ``t = 1`` with the saved ``m, v``; set ``opt.t`` (or use
    :meth:`load_extra_state`) to resume exactly.
    """

    state_names = ("m", "v")

    def __init__(
        self,
        stochastic_round: bool = False,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        gradient_clip_norm: float | None = None,
        gradient_clip_value: float | None = None,
        param_clip_value: float | None = None,
        name: str = "adam",
    ) -> None:
        owner = type(self).__name__
        check_min(owner, "learning_rate", learning_rate)
        check_fraction(owner, "beta_1", beta_1)
        check_fraction(owner, "beta_2", beta_2)
        check_min(owner, "epsilon", epsilon)
        check_clip(owner, "gradient_clip_norm", gradient_clip_norm)
        check_clip(owner, "gradient_clip_value", gradient_clip_value)
        check_clip(owner, "param_clip_value", param_clip_value)
        super().__init__(name)
        self.stochastic_round = stochastic_round
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.gradient_clip_norm = gradient_clip_norm
        self.gradient_clip_value = gradient_clip_value
        self.param_clip_value = param_clip_value
        #: number of optimize() calls so far (neon keeps it on the object, never in files)
        self.t = 0
        _stochastic_round_note(owner, stochastic_round)

    def _prepare(self, epoch: int) -> float:
        self.t += 1
        t = self.t
        return self.learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)

    def _update(
        self,
        params: list[Tensor],
        grads: list[Tensor],
        states: list[list[Tensor]],
        bsz: int,
        ctx: Any,
    ) -> None:
        step = ctx
        b1, b2 = self.beta_1, self.beta_2
        scale = self._clip_norm_scale(grads, bsz, self.gradient_clip_norm)
        g, k = self._grad_terms(grads, bsz, self.gradient_clip_value)  # neon's g = k * g
        ensure_states(params, states, 2)
        m = [s[0] for s in states]
        v = [s[1] for s in states]
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, g, alpha=(1.0 - b1) * k)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, g, g, value=(1.0 - b2) * k * k)
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, self.epsilon)
        torch._foreach_addcdiv_(params, _scale_numerator(m, scale), denom, value=-step)
        self._clip_params(params, self.param_clip_value)

    def extra_state(self) -> dict[str, Any]:
        return {"t": self.t}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.t = int(state.get("t", self.t))


def _ap2_scalar(x: float) -> float:
    """neon's "approximate power of two" of a host number: ``sign(x) * 2**round(log2|x|)``
    (round half to even; ``|x|`` floored at ``exp(-50)`` as neon's ``safelog`` does)."""
    if x == 0:
        return 0.0
    exponent = round(math.log(max(abs(x), math.exp(-50.0))) / math.log(2.0))
    return math.copysign(2.0**exponent, x)


@neon_type(f"{_MODULE}.ShiftAdaMax", "neon.optimizers.ShiftAdaMax")
class ShiftAdaMax(Optimizer):
    """Shift-based AdaMax (Courbariaux et al. 2016), neon's version::

        t   = epoch + 1                                       # per EPOCH, not per update
        l   = schedule.get_learning_rate(learning_rate, epoch) / (1 - β1^t)
        g   = dW / bsz
        m   = β1 * m + (1 - β1) * g
        v   = max(β2 * v, |g|)
        inv = 1 / (v + ε)                                     # states [m, v, inv]
        p   = clip((p - (m * AP2(inv)) * AP2(l)), -1, 1)      # always clipped to [-1, 1]

    ``AP2(a) = sign(a) * 2**round(log2|a|)`` turns the multiplications into binary shifts.
    There is no gradient or parameter clipping option.
    """

    state_names = ("m", "v", "inv_v")

    def __init__(
        self,
        stochastic_round: bool = False,
        learning_rate: float = 0.002,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        schedule: Any = _DEFAULT_SCHEDULE,
        name: str = "ShiftAdaMax",
    ) -> None:
        owner = type(self).__name__
        check_min(owner, "learning_rate", learning_rate)
        check_fraction(owner, "beta_1", beta_1)
        check_fraction(owner, "beta_2", beta_2)
        check_min(owner, "epsilon", epsilon)
        check_schedule(owner, schedule)
        super().__init__(name)
        self.stochastic_round = stochastic_round
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.schedule = schedule
        _stochastic_round_note(owner, stochastic_round)

    def _prepare(self, epoch: int) -> float:
        lr = self.schedule.get_learning_rate(self.learning_rate, epoch)
        return _ap2_scalar(lr / (1.0 - self.beta_1 ** (epoch + 1)))

    def _update(
        self,
        params: list[Tensor],
        grads: list[Tensor],
        states: list[list[Tensor]],
        bsz: int,
        ctx: Any,
    ) -> None:
        step = ctx  # AP2(l), an exact power of two
        b1, k = self.beta_1, 1.0 / bsz  # neon's g = k * dW
        ensure_states(params, states, 3)
        m = [s[0] for s in states]
        v = [s[1] for s in states]
        inv = [s[2] for s in states]
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, grads, alpha=(1.0 - b1) * k)
        torch._foreach_mul_(v, self.beta_2)
        abs_g = torch._foreach_abs(grads)
        torch._foreach_mul_(abs_g, k)
        torch._foreach_maximum_(v, abs_g)
        torch._foreach_copy_(inv, v)
        torch._foreach_add_(inv, self.epsilon)
        torch._foreach_reciprocal_(inv)
        # AP2(inv): inv > 0 here (v >= 0, ε >= 0), so sign(inv) = 1 and |inv| = inv.
        shift = torch._foreach_clamp_min(inv, math.exp(-50.0))
        torch._foreach_log_(shift)
        torch._foreach_div_(shift, math.log(2.0))
        torch._foreach_round_(shift)
        shift = torch._foreach_pow(2.0, shift)
        torch._foreach_mul_(shift, m)
        torch._foreach_add_(params, shift, alpha=-step)
        torch._foreach_clamp_min_(params, -1.0)
        torch._foreach_clamp_max_(params, 1.0)
