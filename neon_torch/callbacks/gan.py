"""neon's ``GANCostCallback``: the discriminator cost of every generator step."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import neon_type
from . import _h5
from .callback import Callback

__all__ = ["GANCostCallback"]


@neon_type("neon.callbacks.callbacks.GANCostCallback", "neon.callbacks.GANCostCallback")
class GANCostCallback(Callback):
    """Records, at each minibatch that ended with a generator step, the generator iteration
    count in ``gan/gen_iter`` and the model's ``cost_dis`` in ``gan/cost_dis`` (zeros
    elsewhere), indexed by the minibatch over the whole run, as neon's does."""

    def __init__(self) -> None:
        super().__init__(epoch_freq=1)

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        points = int(callback_data["config"]["total_minibatches"])
        for key in ("gan/gen_iter", "gan/cost_dis"):
            callback_data[key] = np.zeros(points, dtype=np.float32)
            _h5.declare(callback_data, key, points, time_markers="minibatch")

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        if model.current_batch != model.last_gen_batch or model.last_gen_batch <= 0:
            return
        start = int(callback_data["time_markers/minibatch"][epoch - 1]) if epoch > 0 else 0
        index = start + minibatch
        gen_iter, cost_dis = callback_data["gan/gen_iter"], callback_data["gan/cost_dis"]
        if index < len(gen_iter):
            gen_iter[index] = model.gen_iter
            cost_dis[index] = float(np.asarray(model.cost_dis).ravel()[0])
