"""Checkpoint callbacks: ``SerializeModelCallback`` and ``SaveBestStateCallback``.

Both write ``model.save_params(path)`` (``model.serialize(keep_states=True)`` as a neon_torch
``.prm``: weights, optimizer states, epoch, RNG state), atomically.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import deque
from typing import Any, ClassVar

from ..registry import neon_type
from .callback import Callback

__all__ = ["SaveBestStateCallback", "SerializeModelCallback"]

logger = logging.getLogger("neon_torch")


@neon_type("neon.callbacks.callbacks.SerializeModelCallback")
class SerializeModelCallback(Callback):
    """Save the model at the end of every ``epoch_freq``-th epoch.

    neon semantics: ``history <= 1`` overwrites ``save_path``; ``history > 1`` writes
    ``<root>_<epoch><ext>`` (0-based epoch), removes the oldest tracked file once more than
    ``history`` exist before writing (so up to ``history + 1`` files remain, as in neon) and
    points a symlink ``save_path`` at the newest (a copy where symlinks are not allowed).
    """

    rank_zero_only: ClassVar[bool] = True  # writes only (stdout / files)

    def __init__(self, save_path: str, epoch_freq: int = 1, history: int = 1) -> None:
        super().__init__(epoch_freq=epoch_freq)
        self.save_path = save_path
        self.history = history
        self.checkpoint_files: deque[str] = deque()

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        if self.history <= 1:
            model.save_params(self.save_path, keep_states=True)
            return
        if len(self.checkpoint_files) > self.history:
            oldest = self.checkpoint_files.popleft()
            try:
                os.remove(oldest)
            except OSError:
                logger.warning("Could not delete old checkpoint %s", oldest)
        root, ext = os.path.splitext(self.save_path)
        path = f"{root}_{epoch}{ext}"
        self.checkpoint_files.append(path)
        model.save_params(path, keep_states=True)
        _point_to(self.save_path, path)


def _point_to(link: str, target: str) -> None:
    if os.path.islink(link) or os.path.isfile(link):
        os.remove(link)
    try:
        os.symlink(os.path.basename(target), link)
    except OSError:
        shutil.copyfile(target, link)


@neon_type("neon.callbacks.callbacks.SaveBestStateCallback")
class SaveBestStateCallback(Callback):
    """Save the model to ``path`` whenever the eval loss of this epoch (from a
    ``LossCallback``, e.g. ``Callbacks(eval_freq=...)``) is the lowest so far."""

    rank_zero_only: ClassVar[bool] = True  # writes only (stdout / files)

    def __init__(self, path: str) -> None:
        super().__init__(epoch_freq=1)
        self.best_path = path
        self.best_cost: float | None = None

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        if callback_data.get("_loss_epoch") != epoch:
            return
        loss = float(callback_data["cost/loss"][-1])
        if self.best_cost is None or loss < self.best_cost:
            self.best_cost = loss
            model.save_params(self.best_path, keep_states=True)
