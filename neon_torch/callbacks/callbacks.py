"""The ``Callbacks`` container and neon's default callbacks."""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._types import CallbackLike, Dataset, MetricLike
from ..backends.backend import NervanaObject
from ..distributed.state import is_rank_zero
from ..registry import neon_type
from . import _h5
from ._window import window_means
from .callback import Callback, should_fire
from .checkpoint import SaveBestStateCallback, SerializeModelCallback
from .early_stop import EarlyStopCallback
from .multicost import TrainMulticostCallback
from .progress import ProgressBarCallback
from .ticker import WatchTickerCallback

if TYPE_CHECKING:
    from ..models.model import Model

__all__ = [
    "Callbacks",
    "LossCallback",
    "MetricCallback",
    "RunTimerCallback",
    "TrainCostCallback",
    "TrainLoggerCallback",
]

_MODULE = "neon.callbacks.callbacks"
logger = logging.getLogger("neon_torch")


@neon_type(f"{_MODULE}.Callbacks", "neon.callbacks.Callbacks")
class Callbacks(NervanaObject):
    """The list of callbacks that ``Model.fit`` drives, with neon's defaults and order.

    Built-in list (neon's order): ``LossCallback`` when ``eval_freq`` is set, then
    ``TrainCostCallback`` (``TrainMulticostCallback`` with ``multicost=True``),
    ``ProgressBarCallback`` (if ``progress_bar``), ``MetricCallback`` (when ``eval_freq`` and
    ``metric``), ``SerializeModelCallback(save_path, max(serialize, 1), history)`` (when
    ``save_path``), ``TrainLoggerCallback`` and ``RunTimerCallback``.

    ``callback_data`` is an in-memory dict keyed by neon's HDF5 paths (``'cost/train'``,
    ``'cost/loss'``, ``'metrics/<name>'``, ``'time_markers/minibatch'``, ...). With
    ``output_file`` it is also written there in neon's HDF5 layout (an existing file is
    removed first) after every epoch and at the end. ``model_file`` is loaded with
    ``model.load_params`` when training begins. During ``fit`` Ctrl-C (SIGINT) saves the model
    to ``save_path`` when one is given, then raises ``KeyboardInterrupt``. ``log_token`` is
    accepted and ignored (neon's cloud metrics).
    """

    def __init__(
        self,
        model: Model,
        train_set: Any = None,
        output_file: str | None = None,
        eval_freq: int | None = None,
        progress_bar: bool = True,
        save_path: str | None = None,
        serialize: int = 0,
        history: int = 1,
        model_file: str | None = None,
        eval_set: Dataset | None = None,
        metric: MetricLike | None = None,
        log_token: str | None = None,
        multicost: bool = False,
    ) -> None:
        super().__init__(name=None)
        if train_set is not None:
            logger.warning("Callbacks(train_set=...) is deprecated in neon and ignored.")
        self.model = model
        self.output_file = output_file if is_rank_zero() else None  # data parallel: rank 0
        self.save_path = save_path
        self.model_file = model_file
        self.callbacks: list[CallbackLike] = []
        self._hooks: dict[str, list[CallbackLike]] = {}
        self.callback_data: dict[str, Any] = {}
        self.epoch_marker = 0
        self._old_sigint: Any = None
        self._sigint_installed = False
        if output_file is not None and os.path.exists(output_file):
            os.remove(output_file)
        if eval_freq:
            if eval_set is None:
                raise ValueError("Callbacks(eval_freq=...) needs an eval_set to evaluate on.")
            self.add_callback(LossCallback(eval_set, eval_freq))
        self.add_callback(TrainMulticostCallback() if multicost else TrainCostCallback())
        if progress_bar:
            self.add_callback(ProgressBarCallback())
        if eval_freq and metric is not None and eval_set is not None:  # eval_set checked above
            self.add_callback(MetricCallback(eval_set, metric, eval_freq))
        if save_path:
            self.add_callback(SerializeModelCallback(save_path, max(serialize, 1), history))
        self.add_callback(TrainLoggerCallback())
        self.add_callback(RunTimerCallback())

    def add_callback(self, callback: CallbackLike, insert_pos: int | None = None) -> None:
        """Append ``callback``, or insert it at ``insert_pos`` (one marked ``rank_zero_only``
        is left out on the other ranks of a data-parallel job)."""
        if getattr(callback, "rank_zero_only", False) and not is_rank_zero():
            return
        if insert_pos is None:
            self.callbacks.append(callback)
        else:
            self.callbacks.insert(insert_pos, callback)
        self._hooks.clear()

    def add_early_stop_callback(self, stop_func: Callable[[Any, float], tuple[Any, bool]]) -> None:
        """Append an :class:`EarlyStopCallback`."""
        self.add_callback(EarlyStopCallback(stop_func))

    def add_save_best_state_callback(self, path: str) -> None:
        """Append a :class:`SaveBestStateCallback` saving to ``path``."""
        self.add_callback(SaveBestStateCallback(path))

    def add_watch_ticker_callback(self, valid: Any) -> None:
        """Append a :class:`~neon_torch.callbacks.WatchTickerCallback` on ``valid`` (a
        ``Ticker``; the training set will do)."""
        self.add_callback(WatchTickerCallback(self.model, valid))

    # -- events ----------------------------------------------------------------------------
    def on_train_begin(self, epochs: int) -> None:
        nbatches = getattr(self.model, "nbatches", 0)
        ndata, bsz = getattr(self.model, "ndata", 0), self.model.be.bsz
        if ndata and bsz:
            nbatches = math.ceil(ndata / bsz)
        self.callback_data["config"] = {
            "total_minibatches": nbatches * epochs,
            "total_epochs": epochs,
        }
        self.callback_data["time_markers/minibatch"] = np.zeros(epochs, dtype=np.float32)
        if self.model_file:
            self.model.load_params(self.model_file)
        for cb in self.callbacks:
            cb.on_train_begin(self.callback_data, self.model, epochs)
        self._install_sigint()

    def on_train_abort(self) -> None:
        """``fit`` ended with an exception: restore the SIGINT handler, keep the data file."""
        self._restore_sigint()
        self._write()

    def on_train_end(self) -> None:
        self._restore_sigint()
        for cb in self.callbacks:
            cb.on_train_end(self.callback_data, self.model)
        self._write()

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
        _h5.declare_group(
            self.callback_data,
            "time_markers",
            epochs_complete=epoch + 1,
            minibatches_complete=self.epoch_marker,
        )
        self._write()

    def _write(self) -> None:
        if self.output_file is not None:
            _h5.write_file(self.output_file, self.callback_data)

    def _overriding(self, hook: str) -> list[CallbackLike]:
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

    # -- SIGINT ----------------------------------------------------------------------------
    def _install_sigint(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._old_sigint = signal.signal(signal.SIGINT, self._on_sigint)
            self._sigint_installed = True

    def _restore_sigint(self) -> None:
        if self._sigint_installed:
            # None means the handler was not set from Python; SIG_DFL (0) is restored as is
            old = self._old_sigint
            signal.signal(signal.SIGINT, signal.default_int_handler if old is None else old)
            self._sigint_installed = False

    def _on_sigint(self, signum: int, frame: Any) -> None:
        """neon's handler: save to ``save_path`` (if any), then interrupt."""
        self._restore_sigint()
        if self.save_path:
            self.model.save_params(self.save_path, keep_states=True)
            logger.warning("Interrupted: model saved to %s", self.save_path)
        raise KeyboardInterrupt


@neon_type(f"{_MODULE}.TrainCostCallback")
class TrainCostCallback(Callback):
    """Records each minibatch's cost and neon's moving average of the last ``wsz`` of them.

    The costs stay on the device during the epoch and move to the host once at its end;
    ``callback_data['cost/train']`` (the window means, one per minibatch so far; the window
    runs across epochs, as neon's) is filled then.

    neon keeps the cost objects themselves in its window; a cost that overwrites one array
    in place every minibatch (``GeneralizedCostMask``, ``cost_written_in_place``) fills the
    window with that one array, so neon records each minibatch's own cost: so does this.
    """

    def __init__(self, wsz: int = 10) -> None:
        super().__init__(epoch_freq=1, minibatch_freq=1)
        self.wsz = wsz

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        self._pending: list[torch.Tensor] = []  # this epoch's costs, on the device
        self._tail: list[torch.Tensor] = []  # the last wsz costs of earlier epochs
        self._host = np.zeros(0, dtype=np.float32)
        in_place = getattr(model.cost, "cost_written_in_place", False)
        self._span = 1 if in_place else self.wsz
        callback_data["cost/train"] = np.zeros(0, dtype=np.float32)
        callback_data["_cost_window"] = self.window_mean
        callback_data["_cost_window_tensor"] = self.window_tensor
        total = callback_data["config"]["total_minibatches"]
        _h5.declare(callback_data, "cost/train", total, time_markers="minibatch")

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        self._pending.append(model.cost._cost)  # a fresh 0-d device tensor every minibatch

    def window_tensor(self) -> torch.Tensor | None:
        """Mean of the last ``wsz`` minibatch costs as a 0-d device tensor (no sync)."""
        recent = (self._tail + self._pending)[-self._span :]
        return torch.stack(recent).mean() if recent else None

    def window_mean(self) -> float:
        """Mean of the last ``wsz`` minibatch costs (reads the device)."""
        value = self.window_tensor()
        return math.nan if value is None else float(value)

    def _costs_host(self) -> np.ndarray:
        """Every minibatch cost so far, as float32 on the host."""
        if not self._pending:
            return self._host
        current = torch.stack(self._pending).float().cpu().numpy()
        return np.concatenate([self._host, current]).astype(np.float32)

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        self._host = self._costs_host()
        self._tail = (self._tail + self._pending)[-self._span :]
        self._pending = []
        callback_data["cost/train"] = window_means(self._host, self._span).astype(np.float32)


@neon_type(f"{_MODULE}.TrainLoggerCallback")
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


@neon_type(f"{_MODULE}.RunTimerCallback")
class RunTimerCallback(Callback):
    """Stores ``time/train/start_time`` and ``time/train/end_time`` (seconds)."""

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        callback_data["time/train/start_time"] = np.array([time.time()])
        _h5.declare(callback_data, "time/train/start_time", units="seconds")
        _h5.declare(callback_data, "time/train/end_time", units="seconds")

    def on_train_end(self, callback_data: dict, model: Any) -> None:
        callback_data["time/train/end_time"] = np.array([time.time()])


@neon_type(f"{_MODULE}.LossCallback")
class LossCallback(Callback):
    """Every ``epoch_freq`` epochs, the mean per-sample cost on ``eval_set`` (inference mode).

    Stored in ``callback_data['cost/loss']`` (and the time taken in ``'time/loss'``).
    """

    def __init__(self, eval_set: Dataset, epoch_freq: int = 1) -> None:
        super().__init__(epoch_freq=epoch_freq)
        self.eval_set = eval_set

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        callback_data["cost/loss"] = np.zeros(0, dtype=np.float32)
        callback_data["time/loss"] = np.zeros(0, dtype=np.float32)
        _declare_per_eval(callback_data, "cost/loss", epochs, self.epoch_freq)
        _h5.declare(callback_data, "time/loss", epochs // self.epoch_freq)  # neon: no attrs

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        start = time.time()
        loss = model.eval_loss(self.eval_set)
        callback_data["cost/loss"] = np.append(callback_data["cost/loss"], np.float32(loss))
        callback_data["time/loss"] = np.append(
            callback_data["time/loss"], np.float32(time.time() - start)
        )
        callback_data["_loss_epoch"] = epoch


def _declare_per_eval(callback_data: dict, key: str, epochs: int, freq: int) -> None:
    """neon's evaluation datasets: ``epochs // freq`` entries, attrs ``time_markers`` and
    ``epoch_freq``."""
    _h5.declare(callback_data, key, epochs // freq, time_markers="epoch_freq", epoch_freq=freq)


@neon_type(f"{_MODULE}.MetricCallback")
class MetricCallback(Callback):
    """Every ``epoch_freq`` epochs, ``model.eval(eval_set, metric)`` into ``metrics/<name>``."""

    def __init__(self, eval_set: Dataset, metric: MetricLike, epoch_freq: int = 1) -> None:
        if isinstance(metric, type):
            raise ValueError(
                f"MetricCallback needs a metric instance, got the class {metric.__name__}; "
                f"pass {metric.__name__}(...)."
            )
        super().__init__(epoch_freq=epoch_freq)
        self.eval_set = eval_set
        self.metric = metric

    def on_train_begin(self, callback_data: dict, model: Any, epochs: int) -> None:
        for name in self.metric.metric_names:
            _declare_per_eval(callback_data, f"metrics/{name}", epochs, self.epoch_freq)

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        values = model.eval(self.eval_set, metric=self.metric)
        for name, value in zip(self.metric.metric_names, values, strict=True):
            key = f"metrics/{name}"
            callback_data[key] = np.append(callback_data.get(key, []), value).astype(np.float32)
        logger.info(
            "%s: %s", ", ".join(self.metric.metric_names), ", ".join(f"{v:f}" for v in values)
        )
