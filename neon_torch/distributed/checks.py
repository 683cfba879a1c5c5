"""Checking, before any training collective, that every rank reads matching data.

A rank that started a collective operation its peers never join waits until the process
group's timeout. So the datasets are compared from numbers gathered from all ranks, and every
rank raises the same error when they disagree.
"""

from __future__ import annotations

import zlib
from typing import Any

import torch
import torch.distributed as dist

from .._types import Dataset
from ..errors import UnsupportedNeonFeature
from .errors import DistributedDataError
from .state import batch_rows, is_distributed, world_size

__all__ = ["check_dataset", "shards"]

_SHARDED, _OWN, _UNSHARDABLE = 1, 2, 3
_FIELDS = (
    "kind of dataset",
    "number of samples (ndata) or minibatches (len)",
    "be.bsz",
    "start sample (after a wrap-around)",
    "data checksum (CRC-32)",
    "sample shape (CRC-32)",
    "dataset type (CRC-32)",
)


def shards(dataset: Dataset) -> bool:
    """True when ``dataset`` is a neon iterator that every rank reads a slice of (in a job)."""
    return is_distributed() and bool(getattr(dataset, "shards_across_ranks", False))


def _crc(value: Any) -> int:
    return zlib.crc32(repr(value).encode())


def _fingerprint(dataset: Any, bsz: int) -> list[int]:
    kind_of = getattr(dataset, "shards_across_ranks", None)
    if kind_of is None:  # a DataLoader or any iterable: this rank's own shard
        try:
            length = len(dataset)
        except TypeError:
            length = -1
        return [_OWN, length, bsz, 0, 0, 0, _crc(type(dataset).__name__)]
    kind = _SHARDED if kind_of else _UNSHARDABLE
    checksum = dataset.checksum() if kind_of else 0
    return [
        kind,
        int(getattr(dataset, "ndata", -1)),
        bsz,
        int(getattr(dataset, "start", 0)),
        checksum,
        _crc(getattr(dataset, "shape", None)),
        _crc(type(dataset).__name__),
    ]


def check_dataset(dataset: Dataset, bsz: int, device: torch.device) -> None:
    """Compare ``dataset`` across ranks (one small all-gather); no-op in one process.

    A sharded neon iterator (``ArrayIterator``) must be the same on every rank: same samples
    (checksum), shape, ``be.bsz`` and position; ``be.bsz`` must divide by the world size. A
    DataLoader or other iterable is each rank's own shard: only its ``len`` (when it has one)
    and ``be.bsz`` must agree.

    Raises:
        DistributedDataError: the ranks disagree, or ``be.bsz`` does not divide (every rank).
        UnsupportedNeonFeature: a neon iterator that cannot be split over ranks (every rank).
    """
    if not is_distributed():
        return
    mine = torch.tensor(_fingerprint(dataset, bsz), dtype=torch.int64, device=device)
    every = [torch.empty_like(mine) for _ in range(world_size())]
    dist.all_gather(every, mine)
    rows = [[int(v) for v in t.cpu()] for t in every]
    differences = [
        f"rank {r} has {_FIELDS[i]} {row[i]}, rank 0 has {rows[0][i]}"
        for r, row in enumerate(rows[1:], start=1)
        for i in range(len(_FIELDS))
        if row[i] != rows[0][i]
    ]
    if differences:
        raise DistributedDataError(
            "The ranks of this data-parallel job read different data: "
            + "; ".join(differences)
            + ". Every rank must build the same ArrayIterator (same arrays, same be.bsz) and "
            "reads its own slice of every global minibatch; with a DataLoader, every rank's "
            "loader must yield as many minibatches (e.g. a DistributedSampler)."
        )
    if rows[0][0] == _UNSHARDABLE:
        raise UnsupportedNeonFeature(
            f"{type(dataset).__name__} cannot be split over the ranks of a data-parallel job; "
            "use an ArrayIterator, or a DataLoader with a DistributedSampler."
        )
    if rows[0][0] == _SHARDED and bsz > 0:
        batch_rows(bsz)  # raises when bsz does not divide by the world size
