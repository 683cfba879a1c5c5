"""Where this process stands in a ``torch.distributed`` job: rank, world size, process group.

neon_torch is data parallel when a process group with more than one process is initialised:
either by the script itself before it builds models, or by :func:`init_from_env`, which
``gen_backend`` calls and which starts the group from the environment ``torchrun`` sets
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``): NCCL for a CUDA
device, gloo for the CPU. One process is not data parallel: no wrapper, no collectives.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist

from .errors import DistributedDataError

__all__ = [
    "batch_rows",
    "init_from_env",
    "is_distributed",
    "is_rank_zero",
    "launched_by_torchrun",
    "local_rank",
    "rank",
    "world_size",
]


def is_distributed() -> bool:
    """True when an initialised process group holds more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Processes in the job (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's rank: the process group's, else torchrun's ``RANK``, else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_rank_zero() -> bool:
    """True on the process that writes (progress bar, checkpoints, files): rank 0, or the only
    process. Callbacks that write consult it (``Callback.rank_zero_only``)."""
    return rank() == 0


def local_rank() -> int:
    """This process's index on its node (torchrun's ``LOCAL_RANK``; 0 when not launched so)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def launched_by_torchrun() -> bool:
    """True when the environment describes a job of several processes (torchrun's variables)."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: torch.device) -> None:
    """Start the default process group from torchrun's environment, once.

    Does nothing when a group already exists (the script made its own) or when the process was
    not launched as one of several. NCCL is used for a CUDA ``device`` (bound to it), gloo for
    the CPU. The group is destroyed when the process exits.
    """
    if not dist.is_available() or dist.is_initialized() or not launched_by_torchrun():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    atexit.register(_destroy)


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def batch_rows(bsz: int) -> tuple[int, int]:
    """``(first, count)``: the rows of every global minibatch of ``bsz`` samples this rank reads.

    Rank ``r`` of ``W`` reads rows ``[r·bsz/W, (r+1)·bsz/W)``; one process reads all of them.

    Raises:
        DistributedDataError: ``bsz`` is not a multiple of the world size.
    """
    world = world_size()
    if bsz % world:
        lower = max(world, bsz - bsz % world)
        raise DistributedDataError(
            f"be.bsz={bsz} is the global minibatch size and must be a multiple of the world "
            f"size {world} (each rank reads be.bsz / {world} samples of every minibatch). Use "
            f"gen_backend(batch_size={lower}) or {lower + world}, or launch a number of "
            f"processes that divides {bsz}."
        )
    count = bsz // world
    return rank() * count if world > 1 else 0, count
