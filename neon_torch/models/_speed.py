"""What the backend's speed options change in ``Model``: ``torch.compile`` and mixed precision.

* ``gen_backend(compile=...)``: the root module runs through ``torch.compile`` (one compiled
  wrapper per model, built on first use);
* ``gen_backend(datatype=np.float16 | 'bfloat16')``: the forward runs under ``torch.autocast``;
  float16 adds dynamic loss scaling (:class:`LossScale`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor, nn

from ..backends.backend import Backend

__all__ = ["LossScale", "autocast", "runner"]


def runner(model: Any, be: Backend, training: bool = False) -> nn.Module:
    """The module that runs ``model``'s layers: in training under data parallelism the DDP
    wrapper, compiled when the backend asks for it (one compiled wrapper per target)."""
    ddp = model.run_state.ddp
    target = ddp if training and ddp is not None else model.layers
    if be.compile_options is None:
        return target
    cache = model.run_state.compiled
    key = (id(target), repr(sorted(be.compile_options.items())))
    if key not in cache:
        cache[key] = torch.compile(target, **be.compile_options)
    return cache[key]


def autocast(be: Backend) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` in the backend's reduced precision, or a no-op context."""
    if be.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(be.device.type, dtype=be.amp_dtype)


class LossScale:
    """Dynamic loss scaling for float16 training, with ``torch.amp.GradScaler``'s policy.

    The error fed to backward is multiplied by ``scale``; :meth:`unscale` divides the
    gradients back and reports whether any is infinite or NaN (then the step is skipped and
    the scale halves); after ``growth_interval`` good steps the scale doubles.
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        self.scale = init_scale
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self._good_steps = 0

    def unscale(self, params: list[Tensor]) -> bool:
        """Divide the gradients by ``scale``; True when all are finite (one device read)."""
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return True
        found = torch.zeros(1, device=grads[0].device)
        inv = torch.full((1,), 1.0 / self.scale, device=grads[0].device)
        torch._amp_foreach_non_finite_check_and_unscale_(grads, found, inv)
        ok = not bool(found.item())
        if ok:
            self._good_steps += 1
            if self._good_steps >= self.growth_interval:
                self.scale *= self.growth_factor
                self._good_steps = 0
        else:
            self.scale *= self.backoff_factor
            self._good_steps = 0
        return ok
