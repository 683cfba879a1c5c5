"""``TrainMulticostCallback``: the windowed train cost of every ``Multicost`` member."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import LayerConfigError
from ..registry import neon_type
from . import _h5
from ._window import window_means
from .callback import Callback

__all__ = ["TrainMulticostCallback"]


@neon_type("neon.callbacks.callbacks.TrainMulticostCallback")
class TrainMulticostCallback(Callback):
    """What ``Callbacks(multicost=True)`` uses instead of ``TrainCostCallback``.

    ``callback_data['multicost/train']`` is ``(minibatches, ncosts)`` float64: for each member
    cost of the model's ``Multicost``, the mean of its last ``wsz`` minibatch values (unweighted,
    as neon records them); the progress bar shows them as ``(0.52, 0.61) costs``. Values stay
    on the device during an epoch. neon's
    ``multicost/train_allbranches`` (nested Multicosts unrolled) is not written.
    """

    def __init__(self, wsz: int = 10) -> None:
        super().__init__(epoch_freq=1, minibatch_freq=1)
        self.wsz = wsz

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        costs = getattr(model.cost, "costs", None)
        if costs is None:
            raise LayerConfigError(
                f"Callbacks(multicost=True) needs a Multicost cost, but the model's cost is "
                f"{type(model.cost).__name__}; pass multicost=False or use Multicost([...])."
            )
        self._members = costs
        self._rows: list[torch.Tensor] = []  # this epoch's costs, on the device
        self._host: np.ndarray | None = None
        self._tail: list[torch.Tensor] = []
        total = callback_data["config"]["total_minibatches"]
        _h5.declare(callback_data, "multicost/train", total, time_markers="minibatch")
        callback_data["_cost_window_tensor"] = self.window_tensor

    def window_tensor(self) -> torch.Tensor | None:
        """Each member's mean over the last ``wsz`` minibatches, ``(ncosts,)`` on the device."""
        recent = (self._tail + self._rows)[-self.wsz :]
        return torch.stack(recent).mean(dim=0) if recent else None

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        self._rows.append(torch.stack([c._cost.detach() for c in self._members]))

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        if self._rows:
            rows = torch.stack(self._rows).double().cpu().numpy()
            self._host = np.concatenate([self._host, rows]) if self._host is not None else rows
            self._tail = (self._tail + self._rows)[-self.wsz :]
            self._rows = []
        if self._host is not None:
            callback_data["multicost/train"] = window_means(self._host, self.wsz)
