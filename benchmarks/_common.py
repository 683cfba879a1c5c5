"""What the benchmarks share: device synchronisation and a timed ``Model.fit`` epoch."""

from __future__ import annotations

import time
from typing import Any

import torch


def sync(device: torch.device) -> None:
    """Wait for the device (CUDA work is asynchronous)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_fit(
    model: Any, train: Any, cost: Any, optimizer: Any, callbacks: Any, warm: bool
) -> float:
    """Seconds for one ``fit`` epoch, until its cost is readable.

    ``warm`` first runs an untimed epoch (for compiled models: compilation and CUDA-graph
    capture happen there), then times the next one.
    """
    epochs = 1
    if warm:
        model.fit(train, cost, optimizer, num_epochs=1, callbacks=callbacks)
        epochs = 2
    sync(model.be.device)
    start = time.perf_counter()
    model.fit(train, cost, optimizer, num_epochs=epochs, callbacks=callbacks)
    model.total_cost.item()  # the epoch is finished once its cost is readable
    sync(model.be.device)
    return time.perf_counter() - start
