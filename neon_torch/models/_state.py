"""``RunState``: what a ``Model`` keeps between calls, held in one object the Model owns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

__all__ = ["RunState"]


@dataclass
class RunState:
    """A Model's state between calls (``model.run_state``), none of it saved in ``.prm`` files.

    Only the code of :mod:`neon_torch.models` changes it, except where a field names another
    owner: the loaders of :mod:`neon_torch.serialization.model_io` (``pending_load``,
    ``pending_optimizer``, ``configured_from_file``) and ``Model.fit``'s adapter for torch
    optimizers (``torch_optimizer_step``).
    """

    #: sum of the last training epoch's minibatch costs / nbatches, on the device
    total_cost: Tensor | None = None
    #: the last ``fprop`` output (batch-first), what ``bprop`` back-propagates into
    last_output: Any = None
    #: the leaf made from a backend-Tensor input of ``fprop``, whose error ``bprop`` returns
    input: Tensor | None = None
    #: between the last minibatch of an epoch and the epoch count's increment: checkpoints
    #: written by ``on_epoch_end`` callbacks count the epoch as completed
    epoch_done: bool = False
    #: the layers were configured from a file's ``train_input_shape``; a later
    #: ``initialize(dataset)`` configures them from the data
    configured_from_file: bool = False
    #: ``(loaded file, load_states, built_from_file)`` of a load deferred until ``initialize``
    pending_load: Any = None
    #: ``(optimizer type, counters)`` from a checkpoint, given to the optimizer at ``fit``
    pending_optimizer: Any = None
    #: the ``DistributedDataParallel`` wrapper of the layers in a data-parallel job
    ddp: nn.Module | None = None
    #: dynamic loss scaling of float16 training (``_speed.LossScale``), made at the first step
    loss_scale: Any = None
    #: ``torch.compile`` wrappers, one per (module, options)
    compiled: dict[Any, nn.Module] = field(default_factory=dict)
    #: the ``TorchOptimizerStep`` of a torch optimizer factory given to ``fit``, kept between
    #: ``fit`` calls so its optimizer state survives
    torch_optimizer_step: Any = None
