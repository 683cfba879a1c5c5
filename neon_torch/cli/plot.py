"""``neon-torch plot callback.h5 [-o curves.png]``: training and validation curves (neon's nvis).

Reads the HDF5 file written with ``-o`` (``cost/train`` per minibatch, ``cost/loss`` and
``metrics/*`` per evaluation, ``time_markers/minibatch``) and draws the train cost against
epochs (minibatch / minibatches-per-epoch) with the eval cost at the end of each evaluated
epoch, plus one panel per metric. Needs matplotlib (``pip install neon-torch[plot]``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from ..errors import NeonTorchError

NAME = "plot"
HELP = "draw training/validation curves of a callback HDF5 file (-o) to a PNG"


class PlotError(NeonTorchError, ValueError):
    """A file that is not a neon callback-data file, or matplotlib missing."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="callback data file written with -o/--output_file")
    parser.add_argument("-o", "--output", help="PNG to write (default: FILE with .png)")


def _read(path: str) -> dict[str, Any]:
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise PlotError(f"{path}: not an HDF5 file ({err}).") from None
    with f:
        if "cost/train" not in f or "time_markers/minibatch" not in f:
            raise PlotError(
                f"{path}: no cost/train or time_markers/minibatch; expected a callback data "
                "file written with -o / Callbacks(output_file=...)."
            )
        markers = f["time_markers/minibatch"]
        progress = f["time_markers"].attrs  # neon keeps the progress on the group
        done = int(progress.get("minibatches_complete", len(f["cost/train"])))
        data: dict[str, Any] = {
            "train": np.asarray(f["cost/train"])[:done],
            "markers": np.asarray(markers)[: int(progress.get("epochs_complete", 0))],
            "evals": {},
        }
        keys = ["cost/loss"] + [f"metrics/{k}" for k in f.get("metrics", {})]
        for key in keys:
            if key in f:
                freq = int(f[key].attrs.get("epoch_freq", 1))
                data["evals"][key] = (np.asarray(f[key]), freq)
    return data


def run(args: argparse.Namespace) -> int:
    data = _read(args.file)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError(
            "neon-torch plot needs matplotlib: pip install 'neon-torch[plot]'."
        ) from None
    out = args.output or os.path.splitext(args.file)[0] + ".png"
    per_epoch = data["markers"][0] if len(data["markers"]) else max(len(data["train"]), 1)
    metrics = [k for k in data["evals"] if k.startswith("metrics/")]
    fig, axes = plt.subplots(1 + len(metrics), 1, figsize=(7, 3.5 * (1 + len(metrics))))
    axes = np.atleast_1d(axes)
    x = (np.arange(len(data["train"])) + 1) / per_epoch
    axes[0].plot(x, data["train"], label="train cost (10-minibatch mean)")
    for ax, key in zip(axes, ["cost/loss", *metrics], strict=False):
        if key not in data["evals"]:
            continue
        values, freq = data["evals"][key]
        n = min(len(values), len(data["markers"]) // freq)
        epochs = (np.arange(n) + 1) * freq
        ax.plot(epochs, values[:n], "o-", label=key.split("/", 1)[1] + " (eval)")
    for ax, title in zip(axes, ["cost", *metrics], strict=True):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    print(f"wrote {out}")
    return 0
