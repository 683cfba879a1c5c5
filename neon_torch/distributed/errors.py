"""The error raised when the ranks of a data-parallel job disagree about their input."""

from __future__ import annotations

from ..errors import NeonTorchError

__all__ = ["DistributedDataError"]


class DistributedDataError(NeonTorchError, ValueError):
    """Ranks of a data-parallel job hold different data, or the global minibatch size
    ``be.bsz`` cannot be split evenly over the ranks.

    Every rank raises it with the same message (the check runs on numbers gathered from all
    ranks), so no rank is left waiting in a collective operation.
    """
