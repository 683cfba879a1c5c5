"""The ``DistributedDataParallel`` wrapper ``Model.fit`` trains through, with neon's gradients.

neon's backward pass leaves the *sum* of the per-sample gradients of the minibatch in
``.grad`` and its optimizers divide by ``be.bsz``. Plain DDP *averages* the ranks' gradients;
neon_torch registers a communication hook that *sums* them instead, so after backward
``.grad`` holds the sum over the whole global minibatch, exactly what one process would hold,
and ``be.bsz`` (the global minibatch size) stays the divisor.
"""

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import BackendError
from .state import is_distributed

__all__ = ["global_cost", "wrap"]


# no ``from __future__ import annotations`` here: DDP checks the hook's annotations at runtime


def _sum_hook(state: Any, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """DDP communication hook: all-reduce a gradient bucket as a sum (no division)."""
    work = dist.all_reduce(bucket.buffer(), async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


def wrap(module: nn.Module) -> DistributedDataParallel | None:
    """``module`` (configured and allocated) wrapped in DDP, or None outside a data-parallel
    job or when nothing in it is trainable.

    Wrapping broadcasts rank 0's parameters and buffers to every rank. The wrapper is not part
    of the model's module tree, so parameter names and descriptions are those of ``module``.

    Raises:
        BackendError: the process group is NCCL but the parameters are on the CPU.
    """
    if not is_distributed() or not any(p.requires_grad for p in module.parameters()):
        return None
    device = next(module.parameters()).device
    if device.type != "cuda" and dist.get_backend() == "nccl":
        raise BackendError(
            f"The process group uses NCCL, which needs CUDA tensors, but the model is on "
            f"{device}. Use gen_backend('gpu') or initialise the group with 'gloo'."
        )
    ddp = DistributedDataParallel(module)  # buffers (BatchNorm statistics) follow rank 0
    ddp.register_comm_hook(None, _sum_hook)
    return ddp


def global_cost(cost: Any, value: Tensor, rows: int) -> Tensor:
    """Make a minibatch's cost the mean over every rank's samples, in place, and return it.

    ``value`` is what ``cost.batch_cost`` returned for this rank's ``rows`` samples; the cost
    object's reported ``_cost`` (the same tensor for ``GeneralizedCost``, the first cost for
    ``Multicost``) is replaced too, so ``model.cost.cost`` reads the global number on every
    rank. One all-reduce of three numbers; no host synchronisation.
    """
    reported = cost._cost
    weight = value.new_full((), float(rows))  # a fill on the device, not a host copy
    parts = torch.stack([value.detach() * weight, reported.detach() * weight, weight])
    dist.all_reduce(parts)
    with torch.no_grad():
        value.copy_(parts[0] / parts[2])
        if reported is not value:
            reported.copy_(parts[1] / parts[2])
    return value
