"""Collective helpers behind ``Model.eval`` and ``get_outputs`` in a data-parallel job."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor

from .state import is_distributed, rank, world_size

__all__ = ["gather_outputs", "sum_across_ranks", "valid_rows"]


def sum_across_ranks(values: np.ndarray, device: torch.device) -> np.ndarray:
    """Element-wise sum of a float64 vector over all ranks (the vector itself in one process)."""
    if not is_distributed():
        return values
    t = torch.as_tensor(np.asarray(values, dtype=np.float64), device=device)
    dist.all_reduce(t)
    return t.cpu().numpy()


def valid_rows(ndata: int | None, seen: int, rows: int, sharded: bool) -> tuple[int, int]:
    """``(n, consumed)`` for one minibatch of ``rows`` rows on this rank.

    ``n`` counts this rank's rows that are real samples (not neon's wrap-around completion of
    the last minibatch); ``consumed`` is how many of the dataset's ``ndata`` samples the whole
    (global) minibatch covered, to add to ``seen``. ``sharded``: every rank read its slice of
    one global minibatch (a sharded neon iterator); otherwise the minibatch is this rank's own.
    """
    if ndata is None:
        return rows, rows
    world, me = (world_size(), rank()) if sharded else (1, 0)
    covered = min(ndata - seen, rows * world)
    return max(0, min(rows, covered - me * rows)), covered


def gather_outputs(y: Tensor, slice_rows: int | None) -> Tensor:
    """Every rank's outputs ``y`` (rows first) on every rank, in one process's order.

    ``slice_rows``: each rank holds its slice of ``slice_rows`` rows of every global minibatch
    (a sharded neon iterator; equal row counts), so the minibatches are put back together
    slice by slice. None: the ranks' rows follow each other in rank order (counts may differ).
    """
    if not is_distributed():
        return y
    world = world_size()
    rows = torch.tensor([y.shape[0]], device=y.device)
    counts = [torch.zeros_like(rows) for _ in range(world)]
    dist.all_gather(counts, rows)
    sizes = [int(c) for c in counts]
    padded = y.new_zeros((max(sizes), *y.shape[1:]))
    padded[: y.shape[0]] = y
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    if slice_rows is None:
        return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)])
    steps = y.shape[0] // slice_rows
    stacked = torch.stack(parts).reshape(world, steps, slice_rows, *y.shape[1:])
    return stacked.transpose(0, 1).reshape(world * y.shape[0], *y.shape[1:])
