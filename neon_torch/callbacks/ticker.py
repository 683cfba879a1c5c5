"""neon's ``WatchTickerCallback``: print one sample of a ticker task after an epoch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._types import Dataset
from ..compat._logger import neon_logger
from ..data.ticker import Ticker
from ..errors import ShapeMismatchError
from ..registry import neon_type
from .callback import Callback

__all__ = ["WatchTickerCallback"]


@neon_type("neon.callbacks.callbacks.WatchTickerCallback", "neon.callbacks.WatchTickerCallback")
class WatchTickerCallback(Callback):
    """Every ``epoch_freq`` epochs, show the inputs, outputs and targets of one sample.

    neon semantics: the first minibatch of ``valid_set`` (a :class:`~neon_torch.data.Ticker`,
    so drawing it advances numpy's global generator) goes through ``model.fprop(x,
    inference=True)``; for sample 0, ``Inputs``, ``Outputs`` and ``Targets`` are displayed as
    ``(features, steps)`` arrays with one decimal, cut after the last unmasked step.

    Raises:
        ShapeMismatchError: ``valid_set`` is not a ``Ticker``.
    """

    def __init__(self, model: Any, valid_set: Dataset, epoch_freq: int = 1) -> None:
        super().__init__(epoch_freq=epoch_freq)
        self.model = model
        self.valid_set = valid_set
        if not isinstance(valid_set, Ticker):
            raise ShapeMismatchError(
                f"WatchTickerCallback needs a Ticker valid set, got {type(valid_set).__name__}."
            )

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        x, (t, mask) = next(iter(self.valid_set))
        y = model.fprop(x, inference=True)
        steps = int(mask[0].nonzero()[:, 0].max()) + 1
        with np.printoptions(formatter={"float": "{: 0.1f}".format}, linewidth=150):
            for name, item in (("Inputs", x), ("Outputs", y), ("Targets", t)):
                neon_logger.display(name)
                sample = item[0].detach().float().cpu().numpy().T  # (features, steps)
                neon_logger.display(str(sample[:, :steps]))
