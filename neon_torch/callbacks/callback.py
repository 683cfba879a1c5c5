"""The ``Callback`` base class with neon's hook names and signatures."""

from __future__ import annotations

from typing import Any, ClassVar

from .._object import Describable

__all__ = ["Callback"]


class Callback(Describable):
    """Base class of training callbacks; every hook does nothing by default.

    neon semantics: hooks are called by :class:`~neon_torch.callbacks.Callbacks` in list order
    with ``callback_data`` (the store shared by all callbacks) and the model. Epoch hooks fire
    when ``(epoch + 1) % epoch_freq == 0`` (a list fires on the listed epochs, None never);
    minibatch hooks likewise with ``minibatch_freq``. Reading ``model.cost.cost`` or
    ``model.total_cost`` in a hook waits for the device; the training loop itself never does.

    ``rank_zero_only = True`` marks a callback that only writes (stdout, files): in a
    data-parallel job ``Callbacks`` keeps it on rank 0 alone. A callback that evaluates or
    stops training must run on every rank (evaluation is a collective operation).
    """

    rank_zero_only: ClassVar[bool] = False

    def __init__(self, epoch_freq: Any = 1, minibatch_freq: Any = 1) -> None:
        self.epoch_freq = epoch_freq
        self.minibatch_freq = minibatch_freq

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, callback_data: dict, model: Any) -> None:
        """Called once after the last epoch."""

    def on_epoch_begin(self, callback_data: dict, model: Any, epoch: int) -> None:
        """Called at the start of each (0-based) ``epoch``."""

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        """Called at the end of each epoch, after ``model.total_cost`` is set."""

    def on_minibatch_begin(
        self, callback_data: dict, model: Any, epoch: int, minibatch: int
    ) -> None:
        """Called before each minibatch's forward pass."""

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        """Called after each minibatch's optimizer step; ``model.cost.cost`` is its cost."""


def should_fire(time: int, freq: Any) -> bool:
    """neon's rule: int -> ``(time + 1) % freq == 0``; list -> ``time in freq``; None -> never."""
    if freq is None:
        return False
    if isinstance(freq, int):
        return (time + 1) % freq == 0
    return time in freq
