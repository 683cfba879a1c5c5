"""The ``Callbacks`` container and neon's default callbacks."""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any

import numpy as np
import torch

from .._object import NervanaObject
from ..errors import UnsupportedNeonFeature
from ..registry import neon_type
from .callback import Callback, should_fire

__all__ = [
    "Callbacks",
    "LossCallback",
    "MetricCallback",
    "ProgressBarCallback",
    "RunTimerCallback",
    "TrainCostCallback",
    "TrainLoggerCallback",
]

_MODULE = "neon.callbacks.callbacks"
logger = logging.getLogger("neon_torch")


@neon_type(f"{_MODULE}.Callbacks", "neon.callbacks.Callbacks")
class Callbacks(NervanaObject):
    """The list of callbacks that ``Model.fit`` drives, with neon's defaults and order.

    Built-in list (neon's order): ``LossCallback`` first when ``eval_freq`` is set, then
    ``TrainCostCallback``, ``ProgressBarCallback`` (if ``progress_bar``), ``MetricCallback``
    (when ``eval_freq`` and ``metric``), ``TrainLoggerCallback`` and ``RunTimerCallback``.
    ``callback_data`` is an in-memory dict keyed by neon's HDF5 paths (``'cost/train'``,
    ``'cost/loss'``, ``'metrics/<name>'``, ``'time_markers/minibatch'``, ...).

    ``output_file``, ``save_path``/``serialize``/``history`` and ``model_file`` (HDF5 output,
    checkpoints) are not available yet and raise :class:`UnsupportedNeonFeature`.
    """

    def __init__(
        self,
        model: Any,
        train_set: Any = None,
        output_file: str | None = None,
        eval_freq: int | None = None,
        progress_bar: bool = True,
        save_path: str | None = None,
        serialize: int = 0,
        history: int = 1,
        model_file: str | None = None,
        eval_set: Any = None,
        metric: Any = None,
        log_token: str | None = None,
        multicost: bool = False,
    ) -> None:
        super().__init__(name=None)
        for option, value in (
            ("output_file", output_file),
            ("save_path", save_path),
            ("model_file", model_file),
        ):
            if value is not None:
                raise UnsupportedNeonFeature(
                    f"Callbacks({option}=...) is not supported by this neon_torch version yet; "
                    f"remove the argument (got {value!r})."
                )
        if multicost:
            raise UnsupportedNeonFeature("Callbacks(multicost=True) needs Multicost models.")
        self.model = model
        self.callbacks: list[Callback] = []
        self._hooks: dict[str, list[Callback]] = {}
        self.callback_data: dict[str, Any] = {}
        self.epoch_marker = 0
        if eval_freq:
            if eval_set is None:
                raise ValueError("Callbacks(eval_freq=...) needs an eval_set to evaluate on.")
            self.add_callback(LossCallback(eval_set, eval_freq))
        self.add_callback(TrainCostCallback())
        if progress_bar:
            self.add_callback(ProgressBarCallback())
        if eval_freq and metric is not None:
            self.add_callback(MetricCallback(eval_set, metric, eval_freq))
        self.add_callback(TrainLoggerCallback())
        self.add_callback(RunTimerCallback())

    def add_callback(self, callback: Callback, insert_pos: int | None = None) -> None:
        """Append ``callback``, or insert it at ``insert_pos``."""
        if insert_pos is None:
            self.callbacks.append(callback)
        else:
            self.callbacks.insert(insert_pos, callback)
        self._hooks.clear()

    def on_train_begin(self, epochs: int) -> None:
        nbatches = getattr(self.model, "nbatches", 0)
        self.callback_data["config"] = {
            "total_minibatches": nbatches * epochs,
            "total_epochs": epochs,
        }
        self.callback_data["time_markers/minibatch"] = np.zeros(epochs, dtype=np.float32)
        for cb in self.callbacks:
            cb.on_train_begin(self.callback_data, self.model, epochs)

    def on_train_end(self) -> None:
        for cb in self.callbacks:
            cb.on_train_end(self.callback_data, self.model)

    def on_epoch_begin(self, epoch: int) -> None:
        for cb in self.callbacks:
            if should_fire(epoch, cb.epoch_freq):
                cb.on_epoch_begin(self.callback_data, self.model, epoch)

    def on_epoch_end(self, epoch: int) -> None:
        for cb in self.callbacks:
            if should_fire(epoch, cb.epoch_freq):
                cb.on_epoch_end(self.callback_data, self.model, epoch)
        self.epoch_marker += self.model.nbatches
        markers = self.callback_data.get("time_markers/minibatch")
        if markers is not None and epoch < len(markers):
            markers[epoch] = self.epoch_marker

    def _overriding(self, hook: str) -> list[Callback]:
        """Callbacks that implement ``hook`` (the base class's no-op is skipped per minibatch)."""
        cached = self._hooks.get(hook)
        if cached is None:
            base = getattr(Callback, hook)
            cached = [cb for cb in self.callbacks if getattr(type(cb), hook) is not base]
            self._hooks[hook] = cached
        return cached

    def on_minibatch_begin(self, epoch: int, minibatch: int) -> None:
        for cb in self._overriding("on_minibatch_begin"):
            if should_fire(minibatch, cb.minibatch_freq):
                cb.on_minibatch_begin(self.callback_data, self.model, epoch, minibatch)

    def on_minibatch_end(self, epoch: int, minibatch: int) -> None:
        for cb in self._overriding("on_minibatch_end"):
            if should_fire(minibatch, cb.minibatch_freq):
                cb.on_minibatch_end(self.callback_data, self.model, epoch, minibatch)


class TrainCostCallback(Callback):
    """Records each minibatch's cost and neon's moving average of the last ``wsz`` of them.

    The costs stay on the device during the epoch; ``callback_data['cost/train']`` (the window
    means, one per minibatch) is filled at the end of each epoch.
    """

    def __init__(self, wsz: int = 10) -> None:
        super().__init__(epoch_freq=1, minibatch_freq=1)
        self.wsz = wsz

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        self._costs: list[torch.Tensor] = []
        callback_data["cost/train"] = np.zeros(0, dtype=np.float32)
        callback_data["_cost_window"] = self.window_mean

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        self._costs.append(model.cost._cost)  # a fresh 0-d device tensor every minibatch

    def window_mean(self) -> float:
        """Mean of the last ``wsz`` minibatch costs (reads the device)."""
        recent = self._costs[-self.wsz :]
        return float(torch.stack(recent).mean()) if recent else math.nan

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        costs = torch.stack(self._costs).cpu().numpy().astype(np.float32)
        cumsum = np.concatenate([[0.0], np.cumsum(costs, dtype=np.float64)])
        idx = np.arange(len(costs))
        lo = np.maximum(0, idx - self.wsz + 1)
        callback_data["cost/train"] = ((cumsum[idx + 1] - cumsum[lo]) / (idx + 1 - lo)).astype(
            np.float32
        )


class ProgressBarCallback(Callback):
    """neon's progress bar on stdout, redrawn at most every ``update_thresh_s`` seconds.

    Format: ``Epoch 0   [Train |████      |   10/40   batches, 0.52 cost, 1.20s]``; at the end of
    an epoch the eval loss is appended when a ``LossCallback`` computed one.
    """

    def __init__(
        self, epoch_freq: int = 1, minibatch_freq: int = 1, update_thresh_s: float = 0.1
    ) -> None:
        super().__init__(epoch_freq=epoch_freq, minibatch_freq=minibatch_freq)
        self.update_thresh_s = update_thresh_s
        self.stream = sys.stdout

    def on_epoch_begin(self, callback_data: dict, model: Any, epoch: int) -> None:
        self._start = self._last = time.time()

    def _line(self, callback_data: dict, model: Any, epoch: int, done: int) -> str:
        nbatches = max(model.nbatches, 1)
        bar = "█" * int(done / nbatches * 20)
        window = callback_data.get("_cost_window")
        cost = window() if window is not None else model.cost.cost.item()
        return (
            f"Epoch {epoch:<3} [Train |{bar:<20}| {done:4}/{nbatches:<4} batches, "
            f"{cost:.2f} cost, {time.time() - self._start:.2f}s]"
        )

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        now = time.time()
        last = minibatch + 1 == model.nbatches
        if last or now - self._last >= self.update_thresh_s:
            self._last = now
            self.stream.write("\r" + self._line(callback_data, model, epoch, minibatch + 1))
            self.stream.flush()

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        loss = callback_data.get("cost/loss")
        tail = ""
        if loss is not None and callback_data.get("_loss_epoch") == epoch:
            cost_name = type(model.cost.costfunc).__name__
            tail = (
                f" [{cost_name} Loss {float(loss[-1]):.2f}, {callback_data['time/loss'][-1]:.2f}s]"
            )
        self.stream.write(tail + "\n")
        self.stream.flush()


class TrainLoggerCallback(Callback):
    """Logs the model at train begin and ``Epoch %d complete.  Train Cost %f.`` per epoch (INFO)."""

    def __init__(self, epoch_freq: int = 1, minibatch_freq: Any = None) -> None:
        super().__init__(epoch_freq=epoch_freq, minibatch_freq=minibatch_freq)

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        logger.info("Model:\n%s", model)

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        logger.info(
            "Epoch %d Minibatch %d complete. Train cost: %f",
            epoch,
            minibatch,
            model.cost.cost.item(),
        )

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        message = f"Epoch {epoch} complete.  Train Cost {model.total_cost.item():f}."
        if callback_data.get("_loss_epoch") == epoch:
            message += f"  Eval Cost {float(callback_data['cost/loss'][-1]):f}"
        logger.info(message)


class RunTimerCallback(Callback):
    """Stores ``time/train/start_time`` and ``time/train/end_time`` (seconds)."""

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        callback_data["time/train/start_time"] = np.array([time.time()])

    def on_train_end(self, callback_data: dict, model: Any) -> None:
        callback_data["time/train/end_time"] = np.array([time.time()])


class LossCallback(Callback):
    """Every ``epoch_freq`` epochs, the mean per-sample cost on ``eval_set`` (inference mode).

    Stored in ``callback_data['cost/loss']`` (and the time taken in ``'time/loss'``).
    """

    def __init__(self, eval_set: Any, epoch_freq: int = 1) -> None:
        super().__init__(epoch_freq=epoch_freq)
        self.eval_set = eval_set

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        callback_data["cost/loss"] = np.zeros(0, dtype=np.float32)
        callback_data["time/loss"] = np.zeros(0, dtype=np.float32)

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        start = time.time()
        loss = model._eval_loss(self.eval_set)
        callback_data["cost/loss"] = np.append(callback_data["cost/loss"], np.float32(loss))
        callback_data["time/loss"] = np.append(
            callback_data["time/loss"], np.float32(time.time() - start)
        )
        callback_data["_loss_epoch"] = epoch


class MetricCallback(Callback):
    """Every ``epoch_freq`` epochs, ``model.eval(eval_set, metric)`` into ``metrics/<name>``."""

    def __init__(self, eval_set: Any, metric: Any, epoch_freq: int = 1) -> None:
        if isinstance(metric, type):
            raise ValueError(
                f"MetricCallback needs a metric instance, got the class {metric.__name__}; "
                f"pass {metric.__name__}(...)."
            )
        super().__init__(epoch_freq=epoch_freq)
        self.eval_set = eval_set
        self.metric = metric

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        values = model.eval(self.eval_set, metric=self.metric)
        for name, value in zip(self.metric.metric_names, values, strict=True):
            key = f"metrics/{name}"
            callback_data[key] = np.append(callback_data.get(key, []), value).astype(np.float32)
        logger.info(
            "%s: %s", ", ".join(self.metric.metric_names), ", ".join(f"{v:f}" for v in values)
        )
