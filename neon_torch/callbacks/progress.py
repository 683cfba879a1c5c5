"""neon's progress bar, drawn with tqdm, without a device synchronisation per minibatch."""

from __future__ import annotations

import sys
import time
from typing import Any, ClassVar

import torch

from ..registry import neon_type
from .callback import Callback

__all__ = ["ProgressBarCallback"]

_FORMAT = "{desc} |{bar:20}| {n:4d}/{total:<4d} batches{postfix}"
_FORMAT_UNKNOWN = "{desc} | {n:4d} batches{postfix}"


@neon_type("neon.callbacks.callbacks.ProgressBarCallback")
class ProgressBarCallback(Callback):
    """neon's bar on stdout: ``Epoch 0   [Train |████    |   10/40   batches, 0.52 cost, 1.20s]``.

    Data parallel: drawn by rank 0 only (``rank_zero_only``).

    It is redrawn at most every ``update_thresh_s`` seconds and on the last minibatch. The cost
    shown is the windowed train cost (``TrainCostCallback``); it is copied to the host
    asynchronously, so on CUDA the bar shows the latest value already computed and training
    never waits for it (the epoch's final redraw reads the exact value). At the end of an epoch
    ``[<Cost> Loss 0.31, 0.05s]`` is appended when a ``LossCallback`` ran for it.

    As in neon, the cost on the bar is the mean of the last ``wsz`` (10) minibatch costs, while
    the epoch log line (``TrainLoggerCallback``) and ``model.total_cost`` give the mean over the
    whole epoch, so the two differ for the same epoch.

    When the stream is not a terminal (a log file, a pipe), nothing is redrawn: each epoch
    writes its final bar as one line.
    """

    rank_zero_only: ClassVar[bool] = True  # writes only (stdout / files)

    def __init__(
        self, epoch_freq: int = 1, minibatch_freq: int = 1, update_thresh_s: float = 0.1
    ) -> None:
        super().__init__(epoch_freq=epoch_freq, minibatch_freq=minibatch_freq)
        self.update_thresh_s = update_thresh_s
        self.stream = sys.stdout
        self._bar: Any = None

    def on_epoch_begin(self, callback_data: dict, model: Any, epoch: int) -> None:
        from tqdm import tqdm

        self._start = self._last = time.monotonic()
        self._shown = self._done = 0
        self._pending: tuple[torch.Tensor, Any] | None = None
        self._cost: torch.Tensor | None = None
        self._epoch = epoch
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar = None
        if not self._tty:
            return
        self._bar = tqdm(
            total=model.nbatches or None,  # unknown for a plain iterable
            file=self.stream,
            desc=f"Epoch {epoch:<3} [Train",
            bar_format=_FORMAT if model.nbatches else _FORMAT_UNKNOWN,
            mininterval=0,
            dynamic_ncols=False,
            leave=True,
        )

    def _read_cost(self, callback_data: dict, model: Any, exact: bool) -> str:
        """``'0.52 cost'`` (or ``'(0.52, 0.61) costs'`` for a Multicost), from the device."""
        window = callback_data.get("_cost_window_tensor")
        value = window() if window is not None else model.cost._cost
        if value is not None:
            value = value.detach()
            if exact or value.device.type != "cuda":
                self._cost = value.cpu()
            else:
                if self._pending is not None and self._pending[1].query():
                    self._cost = self._pending[0]
                host = torch.empty(value.shape, dtype=value.dtype, pin_memory=True)
                host.copy_(value, non_blocking=True)
                event = torch.cuda.Event()
                event.record()
                self._pending = (host, event)
        if self._cost is None:
            return "nan cost"
        if self._cost.dim() == 0:
            return f"{float(self._cost):.2f} cost"
        return "(" + ", ".join(f"{float(c):.2f}" for c in self._cost) + ") costs"

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int) -> None:
        self._done = minibatch + 1
        now = time.monotonic()
        last = 0 < model.nbatches <= self._done
        if self._bar is not None and (last or now - self._last >= self.update_thresh_s):
            self._redraw(callback_data, model, exact=last)
        elif not self._tty and last:
            self._line: str | None = self._final_line(callback_data, model)

    def _redraw(self, callback_data: dict, model: Any, exact: bool) -> None:
        self._last = now = time.monotonic()
        cost = self._read_cost(callback_data, model, exact=exact)
        self._bar.set_postfix_str(f"{cost}, {now - self._start:.2f}s]", refresh=False)
        self._bar.update(self._done - self._shown)
        self._shown = self._done

    def _final_line(self, callback_data: dict, model: Any) -> str:
        """The epoch's finished bar as one line, for streams that are not terminals."""
        total = model.nbatches
        cost = self._read_cost(callback_data, model, exact=True)
        tail = f" batches, {cost}, {time.monotonic() - self._start:.2f}s]"
        if not total:  # a plain iterable of unknown length
            return f"Epoch {self._epoch:<3} [Train | {self._done:4d}{tail}"
        filled = "█" * (20 * self._done // total)
        return f"Epoch {self._epoch:<3} [Train |{filled:<20}| {self._done:4d}/{total:<4d}{tail}"

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        if not self._tty:
            line = getattr(self, "_line", None) or self._final_line(callback_data, model)
            self._line = None
            loss = callback_data.get("cost/loss")
            if loss is not None and callback_data.get("_loss_epoch") == epoch:
                line += self._loss_tail(callback_data, model)
            self.stream.write(line + "\n")
            self.stream.flush()
            return
        if self._bar is None:
            return
        if self._shown != self._done:  # an iterable of unknown length just ended
            self._redraw(callback_data, model, exact=True)
        loss = callback_data.get("cost/loss")
        if loss is not None and callback_data.get("_loss_epoch") == epoch:
            tail = self._loss_tail(callback_data, model)
            self._bar.set_postfix_str(f"{self._bar.postfix}{tail}", refresh=False)
        self._bar.close()
        self._bar = None

    @staticmethod
    def _loss_tail(callback_data: dict, model: Any) -> str:
        """neon's `` [<Cost> Loss 0.31, 0.05s]`` after an epoch with a validation loss."""
        cost_name = type(model.cost.costfunc).__name__
        loss, seconds = callback_data["cost/loss"][-1], callback_data["time/loss"][-1]
        return f" [{cost_name} Loss {float(loss):.2f}, {seconds:.2f}s]"
