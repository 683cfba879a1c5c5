"""Data-parallel training with ``torch.distributed`` (see ``docs/distributed.md``).

Launched by ``torchrun`` (or :func:`launch`), or with a process group the script initialised
itself, ``Model.fit`` trains through ``DistributedDataParallel``; each rank reads its slice of
every global minibatch of an ``ArrayIterator``; costs and metrics are reduced over the ranks;
callbacks that write run on rank 0 only.
"""

from .checks import check_dataset, shards
from .ddp import global_cost, wrap
from .errors import DistributedDataError
from .launch import launch, torchrun_command
from .reduce import gather_outputs, sum_across_ranks, valid_rows
from .state import (
    batch_rows,
    init_from_env,
    is_distributed,
    is_rank_zero,
    launched_by_torchrun,
    local_rank,
    rank,
    world_size,
)

__all__ = [
    "DistributedDataError",
    "batch_rows",
    "check_dataset",
    "gather_outputs",
    "global_cost",
    "init_from_env",
    "is_distributed",
    "is_rank_zero",
    "launch",
    "launched_by_torchrun",
    "local_rank",
    "rank",
    "shards",
    "sum_across_ranks",
    "torchrun_command",
    "valid_rows",
    "world_size",
    "wrap",
]
