"""Learning-rate schedules, evaluated per epoch (neon's ``get_learning_rate(lr, epoch)``)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from .._object import Describable
from ..registry import neon_type

__all__ = ["Schedule"]

_MODULE = "neon.optimizers.optimizer"


@neon_type(f"{_MODULE}.Schedule", "neon.optimizers.Schedule")
class Schedule(Describable):
    """Step schedule indexed by the 0-based epoch.

    neon semantics:

    * ``Schedule()`` keeps the rate constant;
    * ``Schedule(step_config=[e1, e2, ...], change=c)`` multiplies by ``c`` for every listed
      epoch already reached: ``lr * c ** #{i : epoch >= e_i}``;
    * ``Schedule(step_config=k, change=c)`` (an int) gives ``lr * c ** floor(epoch / k)``.

    The rate is constant within an epoch.
    """

    def __init__(self, step_config: int | Sequence[int] | None = None, change: float = 1.0):
        if step_config is not None and not isinstance(step_config, (numbers.Integral, list, tuple)):
            raise ValueError(
                f"Schedule step_config must be None, an int or a list of epochs, got "
                f"{step_config!r}."
            )
        if isinstance(change, (list, tuple)):
            raise ValueError(
                "Schedule(change=[...]) with a list sets absolute rates; use "
                "StepSchedule(step_config, change) for that."
            )
        self.step_config = step_config
        self.change = change

    def get_learning_rate(self, learning_rate: float, epoch: int) -> float:
        """The rate for ``epoch`` (0-based) given the base ``learning_rate``."""
        if self.step_config is None:
            return float(learning_rate)
        if isinstance(self.step_config, numbers.Integral):
            steps = epoch // int(self.step_config)
        else:
            steps = sum(1 for e in self.step_config if epoch >= e)
        return float(learning_rate * self.change**steps)
