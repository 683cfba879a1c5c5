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

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from .._types import OptimizerArg, OptimizerLike
from .optimizer import Optimizer

__all__ = ["NeonTorchOptimizer", "TorchOptimizerStep", "fit_optimizer"]


def _check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be an int > 0, got {batch_size!r}.")
    return batch_size


class NeonTorchOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that applies a neon optimizer's exact rule.

    Built by ``neon_optimizer.as_torch_optimizer(params, batch_size)``; it runs the same update
    code as ``neon_optimizer.optimize``. Per ``step()``:

    * every param group's parameters that have a ``.grad`` are updated; ``.grad`` is read as
      neon's summed ``dW`` and divided by the group's ``batch_size`` (see the module notes: use
      ``batch_size=1`` with a batch-mean loss);
    * ``gradient_clip_norm`` is computed per param group (neon: per ``optimize`` call);
    * schedules are evaluated at :attr:`epoch` — set it at the start of every epoch;
    * counters neon keeps on the optimizer object (``Adam.t``, a ``StepSchedule``'s stored rate)
      advance once per ``step()``.

    Per-parameter states are kept in ``self.state[p]`` under the rule's ``state_names`` (e.g.
    ``'m'``, ``'v'`` for Adam) so ``state_dict()``/``load_state_dict()`` save and restore them;
    ``state_dict()['neon']`` additionally holds :attr:`epoch` and the rule's counters.
    """

    def __init__(
        self, params: Iterable[Any], rule: Optimizer, batch_size: int, epoch: int = 0
    ) -> None:
        if not isinstance(rule, Optimizer):
            raise ValueError(f"rule must be a neon_torch optimizer, got {rule!r}.")
        super().__init__(params, {"batch_size": _check_batch_size(batch_size)})
        self.rule = rule
        #: the (0-based) epoch handed to the learning-rate schedule
        self.epoch = int(epoch)
        for group in self.param_groups:
            rule.rule_for_group(group)  # a MultiOptimizer key error surfaces here, not in step()

    def _state_lists(self, params: list[Tensor], names: tuple[str, ...]) -> list[list[Tensor]]:
        out = []
        for p in params:
            state = self.state[p]
            out.append([state[n] for n in names if n in state])
        return out

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        contexts: dict[int, Any] = {}
        for group in self.param_groups:
            rule = self.rule.rule_for_group(group)
            if id(rule) not in contexts:
                contexts[id(rule)] = rule._prepare(self.epoch)
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if any(p.grad.is_sparse for p in params):
                raise ValueError("neon optimizers do not support sparse gradients.")
            names = rule.state_names
            states = self._state_lists(params, names)
            grads = [p.grad for p in params]
            bsz = _check_batch_size(group["batch_size"])
            rule._update(params, grads, states, bsz, contexts[id(rule)])
            for p, plist in zip(params, states, strict=True):
                state = self.state[p]
                for n, s in zip(names, plist, strict=False):
                    state[n] = s
        return loss

    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        sd["neon"] = {"epoch": self.epoch, "rule": self.rule.extra_state()}
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        neon = state_dict.pop("neon", None)
        super().load_state_dict(state_dict)
        if neon is not None:
            self.epoch = int(neon.get("epoch", self.epoch))
            self.rule.load_extra_state(neon.get("rule", {}))


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
    cached = getattr(model, "_torch_optimizer_step", None)
    if cached is None or cached.factory is not optimizer:
        cached = TorchOptimizerStep(optimizer)
        model._torch_optimizer_step = cached
    model.optimizer = cached
    return cached
