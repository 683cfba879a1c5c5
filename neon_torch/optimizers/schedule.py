"""Learning-rate schedules, evaluated per epoch (neon's ``get_learning_rate(lr, epoch)``).

``epoch`` is the 0-based ``model.epoch_index``; optimizers ask for the rate at every update, so
the rate only changes at epoch boundaries. Schedules are consulted by
``GradientDescentMomentum``, ``RMSProp`` and ``ShiftAdaMax`` (not by Adagrad, Adadelta, Adam).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._object import Describable
from ..registry import neon_type

if TYPE_CHECKING:
    from typing_extensions import TypeIs

__all__ = [
    "ExpSchedule",
    "PolySchedule",
    "PowerSchedule",
    "Schedule",
    "ShiftSchedule",
    "StepSchedule",
]

_MODULE = "neon.optimizers.optimizer"
logger = logging.getLogger(__name__)


def _is_int(value: Any) -> TypeIs[int]:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and not math.isnan(float(value))
    )


def _epoch_list(owner: str, step_config: Any) -> list[int]:
    if not isinstance(step_config, (list, tuple)) or not all(
        _is_int(e) and e >= 0 for e in step_config
    ):
        raise ValueError(
            f"{owner}: step_config must be a list of epoch indices (ints >= 0), got "
            f"{step_config!r}."
        )
    return list(step_config)


def _rate_list(owner: str, change: Any, length: int) -> None:
    if not isinstance(change, (list, tuple)) or not all(_is_real(c) for c in change):
        raise ValueError(f"{owner}: change must be a list of learning rates, got {change!r}.")
    if len(change) != length:
        raise ValueError(
            f"{owner}: change and step_config must have the same length, got {len(change)} "
            f"rates for {length} epochs (change={change!r})."
        )


def _absolute_rate(schedule: Any, learning_rate: float, epoch: int) -> float:
    """StepSchedule's rule: visiting a listed epoch stores its rate in ``steps``; a stored
    (non-zero) rate replaces ``learning_rate`` from then on."""
    if epoch in schedule.step_config:
        schedule.steps = schedule.change[list(schedule.step_config).index(epoch)]
    return float(learning_rate if schedule.steps == 0 else schedule.steps)


@neon_type(f"{_MODULE}.Schedule", "neon.optimizers.Schedule")
class Schedule(Describable):
    """Step schedule indexed by the 0-based epoch.

    neon semantics:

    * ``Schedule()`` keeps the rate constant;
    * ``Schedule(step_config=[e1, e2, ...], change=c)`` multiplies by ``c`` for every listed
      epoch already reached: ``lr * c ** #{i : epoch >= e_i}``;
    * ``Schedule(step_config=k, change=c)`` (an int) gives ``lr * c ** floor(epoch / k)`` (neon
      logs that :class:`PowerSchedule` should be used);
    * ``Schedule(step_config=[...], change=[...])`` (two lists of the same length) sets absolute
      rates, exactly like :class:`StepSchedule` (neon logs that it is deprecated).

    A tuple ``step_config`` is read like a list (neon silently ignored tuples).
    """

    def __init__(self, step_config: int | Sequence[int] | None = None, change: Any = 1.0) -> None:
        owner = type(self).__name__
        if step_config is None:
            if not _is_real(change):
                raise ValueError(f"{owner}: change must be a number, got {change!r}.")
        elif _is_int(step_config):
            if step_config <= 0:
                raise ValueError(f"{owner}: step_config must be > 0, got {step_config!r}.")
            if not _is_real(change):
                raise ValueError(
                    f"{owner}: with an int step_config, change must be a number, got {change!r}."
                )
            logger.warning(
                "Schedule(step_config=<int>) will be removed in the future; "
                "use PowerSchedule instead."
            )
        else:
            epochs = _epoch_list(owner, step_config)
            if isinstance(change, (list, tuple)):
                _rate_list(owner, change, len(epochs))
                logger.warning(
                    "Schedule(step_config=<list>, change=<list>) will be removed in the "
                    "future; use StepSchedule instead."
                )
            elif not _is_real(change):
                raise ValueError(
                    f"{owner}: change must be a number or a list of rates, got {change!r}."
                )
        self.step_config = step_config
        self.change = change
        #: the stored absolute rate (list+list mode; neon's attribute name, not serialized)
        self.steps: Any = 0

    @property
    def _absolute(self) -> bool:
        return isinstance(self.step_config, (list, tuple)) and isinstance(
            self.change, (list, tuple)
        )

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        """The rate for ``epoch`` (0-based) given the base ``learning_rate``."""
        if self._absolute:
            return _absolute_rate(self, learning_rate, epoch)
        if self.step_config is None:
            return float(learning_rate)
        if _is_int(self.step_config):
            steps = math.floor(epoch / int(self.step_config))
        else:
            steps = sum(1 for e in self.step_config if epoch >= e)
        return float(learning_rate * self.change**steps)

    def extra_state(self) -> dict[str, Any]:
        """State neon keeps on the object but never serializes (the stored absolute rate)."""
        return {"steps": self.steps} if self._absolute else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`extra_state`."""
        if "steps" in state:
            self.steps = state["steps"]


@neon_type(f"{_MODULE}.StepSchedule", "neon.optimizers.StepSchedule")
class StepSchedule(Schedule):
    """Absolute rates at given epochs: at epoch ``step_config[i]`` the rate becomes
    ``change[i]`` and stays so.

    neon semantics kept: the schedule is stateful. The rate is stored (in ``steps``) only when an
    epoch listed in ``step_config`` is actually visited; until then ``learning_rate`` is used.
    neon never serializes the stored rate (training resumed after a listed epoch falls back to
    ``learning_rate``); :meth:`extra_state` exposes it for checkpoints.
    """

    def __init__(self, step_config: Sequence[int], change: Sequence[float]) -> None:
        owner = type(self).__name__
        epochs = _epoch_list(owner, step_config)
        _rate_list(owner, change, len(epochs))
        self.step_config = step_config
        self.change = change
        self.steps = 0

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        return _absolute_rate(self, learning_rate, epoch)

    def extra_state(self) -> dict[str, Any]:
        return {"steps": self.steps}


@neon_type(f"{_MODULE}.PowerSchedule", "neon.optimizers.PowerSchedule")
class PowerSchedule(Schedule):
    """``lr * change ** floor(epoch / step_config)``: multiply by ``change`` every
    ``step_config`` epochs."""

    def __init__(self, step_config: int, change: float) -> None:
        owner = type(self).__name__
        if not _is_int(step_config) or step_config <= 0:
            raise ValueError(f"{owner}: step_config must be an int > 0, got {step_config!r}.")
        if not _is_real(change):
            raise ValueError(f"{owner}: change must be a number, got {change!r}.")
        self.step_config = step_config
        self.change = change
        self.steps = 0

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        self.steps = math.floor(epoch / self.step_config)  # type: ignore[operator]  # an int step_config here
        return float(learning_rate * self.change**self.steps)


@neon_type(f"{_MODULE}.ExpSchedule", "neon.optimizers.ExpSchedule")
class ExpSchedule(Schedule):
    """``lr / (1 + decay * epoch)`` (an inverse-time decay, despite the name)."""

    def __init__(self, decay: float) -> None:
        if not _is_real(decay) or decay < 0:
            raise ValueError(f"ExpSchedule: decay must be a number >= 0, got {decay!r}.")
        self.decay = decay

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        return float(learning_rate / (1.0 + self.decay * epoch))

    def extra_state(self) -> dict[str, Any]:
        return {}


@neon_type(f"{_MODULE}.PolySchedule", "neon.optimizers.PolySchedule")
class PolySchedule(Schedule):
    """neon's polynomial schedule *as it runs*: ``lr * (1 - epoch // total_epochs) ** power``.

    neon documents ``lr * (1 - epoch / total_epochs) ** power`` but divides with ``//``, so the
    rate stays ``lr`` for every epoch before ``total_epochs`` and is ``0`` at ``total_epochs``
    (for ``power > 0``). neon_torch keeps that. Past ``2 * total_epochs`` neon's formula takes a
    negative base (NaN or a growing rate); neon_torch returns 0 there instead.
    ``total_epochs`` is stored as float32, as neon does (it shows in descriptions).
    """

    def __init__(self, total_epochs: int, power: float) -> None:
        if not _is_real(total_epochs) or total_epochs <= 0:
            raise ValueError(
                f"PolySchedule: total_epochs must be a number > 0, got {total_epochs!r}."
            )
        if not _is_real(power) or power < 0:
            raise ValueError(f"PolySchedule: power must be a number >= 0, got {power!r}.")
        self.total_epochs = np.float32(total_epochs)
        self.power = power

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        base = 1.0 - math.floor(epoch / float(self.total_epochs))
        if base < 0:
            return 0.0
        return float(learning_rate * base**self.power)

    def extra_state(self) -> dict[str, Any]:
        return {}


@neon_type(f"{_MODULE}.ShiftSchedule", "neon.optimizers.ShiftSchedule")
class ShiftSchedule(Schedule):
    """Halve the rate ``shift_size`` times every ``interval`` epochs:
    ``lr * 2 ** (-shift_size * floor(epoch / interval))``, rounded to float32 as neon's
    backend ``shift`` does."""

    def __init__(self, interval: int, shift_size: int = 1) -> None:
        if not _is_int(interval) or interval <= 0:
            raise ValueError(f"ShiftSchedule: interval must be an int > 0, got {interval!r}.")
        if not _is_real(shift_size):
            raise ValueError(f"ShiftSchedule: shift_size must be a number, got {shift_size!r}.")
        self.interval = interval
        self.shift_size = shift_size

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        total_shift = -self.shift_size * int(epoch / self.interval)
        return float(np.float32(learning_rate * 2.0**total_shift))

    def extra_state(self) -> dict[str, Any]:
        return {}
