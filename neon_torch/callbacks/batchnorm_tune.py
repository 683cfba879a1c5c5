"""``BatchNormTuneCallback``: recompute BatchNorm's running statistics on a tuning set."""

from __future__ import annotations

from typing import Any

import torch

from ..backends.backend import current_backend
from ..registry import neon_type
from .callback import Callback

__all__ = ["BatchNormTuneCallback"]


@neon_type("neon.callbacks.callbacks.BatchNormTuneCallback")
class BatchNormTuneCallback(Callback):
    """At the end of every ``epoch_freq``-th epoch, replace the running statistics of every
    ``BatchNorm`` (exact type) among the optimized layers by the average over ``tune_set``.

    neon semantics: for tuning minibatch ``b`` (0-based) ``rho = b / (b + 1)`` and a
    training-mode forward pass runs (Dropout active, no backward), so ``gmean``/``gvar``
    become the cumulative mean of the minibatch statistics; then ``gvar *= nb / (nb - 1)``.
    ``rho`` stays at ``(nb - 1) / nb`` afterwards, as in neon.
    """

    def __init__(self, tune_set: Any, epoch_freq: int = 1) -> None:
        super().__init__(epoch_freq=epoch_freq)
        self.tune_set = tune_set

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        from ..layers import BatchNorm
        from ..models._data import as_batches

        layers = [layer for layer in model.layers_to_optimize if type(layer) is BatchNorm]
        if not layers:
            return
        if hasattr(self.tune_set, "reset"):
            self.tune_set.reset()
        nbatches = 0
        with torch.no_grad():
            for b, (x, _) in enumerate(as_batches(self.tune_set, current_backend())):
                for layer in layers:
                    layer.rho = b / (b + 1)
                model.fprop(x, inference=False)
                nbatches = b + 1
            if nbatches > 1:
                for layer in layers:
                    layer.running_var.mul_(nbatches / (nbatches - 1))
        model.run_state.last_output = None
