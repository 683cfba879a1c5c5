"""``EarlyStopCallback``: stop training when a user function says so."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..registry import neon_type
from .callback import Callback

__all__ = ["EarlyStopCallback"]

logger = logging.getLogger("neon_torch")


@neon_type("neon.callbacks.callbacks.EarlyStopCallback")
class EarlyStopCallback(Callback):
    """After each epoch with an eval loss (a ``LossCallback`` ran for it), call
    ``state, finished = stop_func(state, loss)`` (state starts as None); ``finished`` sets
    ``model.finished``, so ``fit`` stops after this epoch (``on_train_end`` still runs).

    Example ``stop_func``: ``lambda s, v: (v, False) if s is None else (min(v, s), v > s)``.
    """

    def __init__(self, stop_func: Callable[[Any, float], tuple[Any, bool]]) -> None:
        super().__init__(epoch_freq=1)
        self.stop_func = stop_func
        self.stop_state: Any = None

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        if callback_data.get("_loss_epoch") != epoch:
            return
        loss = float(callback_data["cost/loss"][-1])
        self.stop_state, finished = self.stop_func(self.stop_state, loss)
        if finished:
            model.finished = True
            logger.warning("Early stopping function triggered: mean_cost %f.", loss)
