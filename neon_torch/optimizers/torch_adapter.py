"""Bridges between neon optimizers and ``torch.optim``.

* :class:`NeonTorchOptimizer` — a real ``torch.optim.Optimizer`` that applies a neon rule
  (``opt.as_torch_optimizer(params, batch_size)``), for plain PyTorch training loops.
* :class:`TorchOptimizerStep` — lets ``Model.fit`` run a ``torch.optim`` optimizer (built by a
  factory such as ``functools.partial(torch.optim.AdamW, lr=1e-3)``) in place of a neon one.

**Gradient scaling.** neon's backward pass leaves the *sum* over the minibatch of the
per-sample gradients in ``.grad``, and neon optimizers divide it by the batch size.

* ``NeonTorchOptimizer`` divides ``.grad`` by its ``batch_size``: pass the batch size when the
  loss is a sum over the batch (neon's convention), ``batch_size=1`` when the loss is already a
  batch mean (``reduction='mean'``, the torch default).
* ``TorchOptimizerStep`` (``Model.fit`` with a torch optimizer) divides ``.grad`` in place by
  ``be.bsz`` before ``step()``, so the torch optimizer sees the batch-*mean* gradient, as it
  would in an ordinary torch loop with a mean loss; learning rates tuned for torch carry over.
  (For sequence outputs neon's sum also runs over time steps, so the gradient is that of the
  per-sample cost summed over steps.)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._types import OptimizerArg, OptimizerLike
from .optimizer import NeonTorchOptimizer, Optimizer

__all__ = ["NeonTorchOptimizer", "TorchOptimizerStep", "fit_optimizer"]


class TorchOptimizerStep:
    """Runs a ``torch.optim.Optimizer`` where ``Model.fit`` expects a neon optimizer.

    ``factory`` is called once, on the first update, with the list of parameters of the
    layers ``fit`` optimizes (neon's order) and must return a ``torch.optim.Optimizer``; an
    existing optimizer instance may be given instead. Before every ``step()`` the gradients
    (neon's batch sums) are divided in place by ``be.bsz``, so the torch optimizer sees
    batch-mean gradients. The optimizer is reachable as :attr:`torch_optimizer` (e.g. for its
    ``state_dict``).
    """

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self.torch_optimizer: torch.optim.Optimizer | None = None
        self._params: list[Tensor] = []
        if isinstance(factory, torch.optim.Optimizer):
            self._set(factory)

    def _set(self, opt: Any) -> None:
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(
                "The optimizer factory given to fit must return a torch.optim.Optimizer, got "
                f"{type(opt).__name__}."
            )
        self.torch_optimizer = opt
        self._params = [p for group in opt.param_groups for p in group["params"]]

    @torch.no_grad()
    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        """Scale the summed gradients to batch means and take one ``step()``."""
        if self.torch_optimizer is None:
            params = [p for layer in layer_list for p in layer.optimized_parameters()]
            self._set(self.factory(params))
        bsz = Optimizer._bsz()
        grads = [p.grad for p in self._params if p.grad is not None]
        if grads:
            torch._foreach_div_(grads, float(bsz))
        self.torch_optimizer.step()  # type: ignore[union-attr]  # built before step

    def get_description(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """A neon-style description naming the torch class and its scalar defaults (neon
        itself cannot load it)."""
        opt = self.torch_optimizer
        cls = type(opt) if opt is not None else getattr(self.factory, "func", self.factory)
        defaults = dict(getattr(opt, "defaults", {}) or getattr(self.factory, "keywords", {}))
        config = {
            k: v
            for k, v in defaults.items()
            if isinstance(v, (bool, int, float, str, tuple, type(None)))
        }
        name = f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', repr(cls))}"
        return {"type": name, "config": config}


def fit_optimizer(model: Any, optimizer: OptimizerArg) -> OptimizerLike:
    """What ``Model.fit`` runs for ``optimizer``: a neon optimizer as is; a
    ``torch.optim.Optimizer`` or a factory callable wrapped in :class:`TorchOptimizerStep`
    (kept on the model, so a later ``fit`` with the same object continues with its state)."""
    if hasattr(optimizer, "optimize"):
        return optimizer
    if not (isinstance(optimizer, torch.optim.Optimizer) or callable(optimizer)):
        raise TypeError(
            "fit(optimizer=...) must be a neon_torch optimizer, a torch.optim.Optimizer or a "
            "callable building one from a parameter list (e.g. functools.partial("
            f"torch.optim.AdamW, lr=1e-3)); got {optimizer!r}."
        )
    cached = model.run_state.torch_optimizer_step
    if cached is None or cached.factory is not optimizer:
        cached = TorchOptimizerStep(optimizer)
        model.run_state.torch_optimizer_step = cached
    model.optimizer = cached
    return cached
