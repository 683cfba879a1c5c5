"""neon's ``neon.callbacks.plotting_callbacks``: ``GANPlotCallback``."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..registry import neon_type
from .callback import Callback

__all__ = ["GANPlotCallback"]

logger = logging.getLogger(__name__)


def _median_filter(values: np.ndarray, kernel_size: int) -> np.ndarray:
    """A running median over ``kernel_size`` values, zero-padded at both ends (the rule of
    ``scipy.signal.medfilt``)."""
    half = kernel_size // 2
    padded = np.concatenate([np.zeros(half), values, np.zeros(half)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel_size)
    return np.median(windows, axis=1)


@neon_type(
    "neon.callbacks.plotting_callbacks.GANPlotCallback",
    "neon.callbacks.GANPlotCallback",
)
class GANPlotCallback(Callback):
    """At each epoch end, writes ``<filename>_data_<epoch>.png`` and
    ``<filename>_noise_<epoch>.png``: grids of ``num_samples`` images of the last data
    minibatch and of the generator's output on the model's fixed noise (``model.data_batch``
    and ``model.noise_batch``, ``(nchan·hw·hw, N)`` in neon's layout).

    neon semantics: one-channel images are shown inverted (``1 - x``), colour ones mapped from
    [-1, 1] with ``sym_range``; samples fill the grid column by column, each image flipped
    left-right, ``padding`` white pixels apart. For a ``'wasserstein'`` GAN it also plots the
    Wasserstein estimate ``-cost_dis`` per generator iteration with a running median of 101
    (``<filename>_training.png``, from ``gan/gen_iter``/``gan/cost_dis`` of
    ``GANCostCallback``); that plot needs matplotlib and is skipped with a warning without it.
    The PNGs need Pillow.
    """

    def __init__(
        self,
        filename: str,
        hw: int = 28,
        nchan: int = 1,
        num_samples: int = 16,
        sym_range: bool = False,
        padding: int = 2,
        plot_width: int = 1200,
        plot_height: int = 600,
        dpi: float = 60.0,
        font_size: int = 10,
        epoch_freq: int = 1,
    ) -> None:
        super().__init__(epoch_freq=epoch_freq)
        self.filename = filename
        self.hw = hw
        self.nchan = nchan
        self.num_samples = num_samples
        self.sym_range = sym_range
        self.padding = padding
        self.plot_width = plot_width
        self.plot_height = plot_height
        self.dpi = dpi
        self.font_size = font_size

    def _value_transform(self, batch: np.ndarray) -> np.ndarray:
        if self.nchan == 1:
            return 1.0 - batch
        return (batch + 1.0) / 2.0 if self.sym_range else batch

    def _shape_transform(self, batch: np.ndarray) -> np.ndarray:
        if self.nchan * self.hw * self.hw != batch.shape[0]:
            raise ValueError(
                f"GANPlotCallback: images of {batch.shape[0]} values do not have nchan={self.nchan}"
                f" x hw={self.hw} x hw pixels."
            )
        if self.num_samples > batch.shape[1]:
            raise ValueError(
                f"GANPlotCallback: num_samples={self.num_samples} exceeds the batch size "
                f"{batch.shape[1]}."
            )
        n, hw, step = self.num_samples, self.hw, self.hw + self.padding
        nrow = int(np.ceil(np.sqrt(n)))
        ncol = int(np.ceil(n / nrow))
        canvas = np.ones([nrow * step - self.padding, ncol * step - self.padding, self.nchan])
        images = batch[:, :n].reshape(self.nchan, hw, hw, n).transpose(2, 1, 0, 3)  # (W, H, C, n)
        images = images.transpose(1, 0, 2, 3)  # (H, W, C, n)
        for i in range(n):
            row, col = i % nrow, i // nrow
            canvas[row * step : row * step + hw, col * step : col * step + hw, :] = images[
                :, ::-1, :, i
            ]
        return canvas[:, :, 0] if self.nchan == 1 else canvas

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        from PIL import Image

        for kind, batch in (("data", model.data_batch), ("noise", model.noise_batch)):
            canvas = self._shape_transform(self._value_transform(batch.get()))
            pixels = np.uint8(canvas * 255)
            Image.fromarray(pixels).convert("RGB").save(f"{self.filename}_{kind}_{epoch:03d}.png")
        if model.cost.costfunc.func == "wasserstein":
            self._plot_wasserstein(callback_data)

    def _plot_wasserstein(self, callback_data: dict) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            logger.warning("GANPlotCallback: matplotlib is not installed; no training plot.")
            return
        giter = np.asarray(callback_data["gan/gen_iter"])
        keep = np.nonzero(giter)
        estimate = -np.asarray(callback_data["gan/cost_dis"], dtype=np.float64)[keep]
        plt.figure(figsize=(400 / self.dpi, 300 / self.dpi), dpi=self.dpi)
        plt.plot(giter[keep], estimate, "k-", lw=0.25)
        plt.plot(giter[keep], _median_filter(estimate, 101), "r-", lw=2.0)
        plt.title(self.filename, fontsize=self.font_size)
        plt.xlabel("Generator Iterations", fontsize=self.font_size)
        plt.ylabel("Wasserstein estimate", fontsize=self.font_size)
        plt.margins(0, 0, tight=True)
        plt.savefig(self.filename + "_training.png", bbox_inches="tight")
        plt.close()
