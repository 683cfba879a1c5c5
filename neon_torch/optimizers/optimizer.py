"""Optimizer base class, neon's gradient clipping and hyper-parameter checks.

**The gradient convention.** After the backward pass every parameter's ``.grad`` holds neon's
``dW``: the *sum* over the minibatch of the per-sample gradients (see
:mod:`neon_torch.transforms.cost`). Every neon optimizer first divides it by the configured
batch size ``be.bsz`` (also for a wrapped last batch); ``gradient_clip_value`` clips that
quotient element-wise; ``gradient_clip_norm = c`` scales the whole update by one factor
``s = c / max(norm, c)`` with ``norm = sqrt(Σ_all params Σ dW²) / bsz``.

**One rule, two drivers.** Each optimizer implements its rule once, split in two:

* ``_prepare(epoch)`` works out the host-side numbers of one call (the scheduled learning rate,
  Adam's bias correction) and advances the counters neon keeps on the optimizer object
  (``Adam.t``, a ``StepSchedule``'s stored rate);
* ``_update(params, grads, states, bsz, ctx)`` changes the parameters in place with multi-tensor
  (``torch._foreach_*``) operations on their device, with no host synchronisation. Unless
  ``gradient_clip_value`` needs the quotient itself, ``1 / bsz`` is folded into the scalar
  coefficients instead of copying ``dW / bsz`` (bit-identical for power-of-two batch sizes).

:meth:`Optimizer.optimize` drives it over neon layers (states live in ``layer.states`` so they
are saved with the layer, as in neon); :meth:`Optimizer.as_torch_optimizer` drives the very same
code from a ``torch.optim.Optimizer`` (see :mod:`neon_torch.optimizers.torch_adapter`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..backends.backend import NervanaObject, current_backend

__all__ = [
    "NeonTorchOptimizer",
    "Optimizer",
    "ParamGroup",
    "check_batch_size",
    "ensure_states",
    "get_param_list",
]


def ensure_states(params: list[Tensor], states: list[list[Tensor]], count: int) -> None:
    """Give every parameter ``count`` state tensors, appending zeros where missing (neon creates
    them lazily, on the first update)."""
    for p, plist in zip(params, states, strict=True):
        while len(plist) < count:
            plist.append(torch.zeros_like(p, memory_format=torch.preserve_format))


class ParamGroup:
    """The flattened parameters, gradients and state lists of a list of layers.

    ``states[i]`` is the very list the owning layer keeps in ``layer.states`` for parameter
    ``i``, so optimizer states are saved and restored with the layer, as in neon.
    """

    def __init__(self, layers: list[Any]) -> None:
        self.params: list[Tensor] = []
        self.states: list[list[Tensor]] = []
        for layer in layers:
            params = layer.optimized_parameters()
            while len(layer.states) < len(params):
                layer.states.append([])
            self.params.extend(params)
            self.states.extend(layer.states[: len(params)])

    def grads(self) -> list[Tensor]:
        """Gradients; a parameter that received none contributes zeros (neon's zeroed ``dW``)."""
        return [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]

    def ensure_states(self, count: int) -> None:
        """Create ``count`` zero state tensors per parameter on first use (neon: lazily)."""
        ensure_states(self.params, self.states, count)

    def state(self, index: int) -> list[Tensor]:
        """State ``index`` of every parameter."""
        return [s[index] for s in self.states]


def get_param_list(layer_list: list[Any]) -> list[tuple[tuple[Any, Any], list[Any]]]:
    """neon's flat ``[((W, dW), states), ...]`` from each layer's ``get_params()``.

    ``W`` and ``dW`` are backend Tensors in neon layout sharing storage with the parameter and
    its ``.grad`` (``dW`` is None before a backward pass), so an optimizer written against
    neon's API updates the parameters with op-trees (``W[:] = W - lr * dW / be.bsz``);
    ``states`` is the layer's own list for that parameter (append to it, as neon's optimizers
    do, and the states are saved with the layer).
    """
    plist: list[Any] = []
    for layer in layer_list:
        params = layer.get_params()
        if isinstance(params, list):
            plist.extend(params)
        else:
            plist.append(params)
    return plist


# -- hyper-parameter checks -------------------------------------------------------------------
def _real(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{owner}: {name} must be a real number, got {value!r}.")
    return float(value)


def check_min(owner: str, name: str, value: Any, low: float = 0.0) -> None:
    """``value >= low`` (a real number), else ValueError naming ``name``."""
    if _real(owner, name, value) < low:
        raise ValueError(f"{owner}: {name} must be >= {low:g}, got {value!r}.")


def check_fraction(owner: str, name: str, value: Any) -> None:
    """``0 <= value < 1`` (decay rates, momentum, betas), else ValueError naming ``name``."""
    if not 0.0 <= _real(owner, name, value) < 1.0:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}.")


def check_clip(owner: str, name: str, value: Any) -> None:
    """A clipping bound: None / 0 (off, neon treats falsy as off) or a real number.

    ``gradient_clip_norm`` must not be negative (neon would flip the gradient's sign);
    value bounds are used as ``abs(value)``, as in neon.
    """
    if value is None:
        return
    number = _real(owner, name, value)
    if name == "gradient_clip_norm" and number < 0:
        raise ValueError(f"{owner}: {name} must be > 0 (or None for no clipping), got {value!r}.")


def check_schedule(owner: str, schedule: Any) -> None:
    if not callable(getattr(schedule, "get_learning_rate", None)):
        raise ValueError(
            f"{owner}: schedule must be a Schedule (an object with get_learning_rate(lr, "
            f"epoch)), got {schedule!r}."
        )


class Optimizer(NervanaObject):
    """Base class of neon optimizers: ``optimize(layer_list, epoch)`` updates parameters in place.

    Subclasses define :meth:`_prepare`, :meth:`_update` and ``state_names`` (the names of the
    per-parameter states, in neon's order).
    """

    #: names of the per-parameter states in neon's order (torch adapter keys)
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._groups: dict[tuple[int, ...], ParamGroup] = {}

    # -- the rule -------------------------------------------------------------------------
    def _prepare(self, epoch: int) -> Any:
        """Host-side numbers of one update call for (0-based) ``epoch``; advances counters."""
        raise NotImplementedError

    def _update(
        self,
        params: list[Tensor],
        grads: list[Tensor],
        states: list[list[Tensor]],
        bsz: int,
        ctx: Any,
    ) -> None:
        """Update ``params`` in place from summed ``grads``; ``states[i]`` is parameter ``i``'s
        state list (filled with zeros on first use)."""
        raise NotImplementedError

    def rule_for_group(self, group: dict) -> Optimizer:
        """The optimizer whose rule updates a torch param group (self; MultiOptimizer maps)."""
        return self

    # -- drivers --------------------------------------------------------------------------
    @torch.no_grad()
    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        """Apply one update to the parameters of ``layer_list`` for (0-based) ``epoch``."""
        ctx = self._prepare(epoch)
        group = self._group(layer_list)
        if group.params:
            self._update(group.params, group.grads(), group.states, self._bsz(), ctx)

    def as_torch_optimizer(
        self, params: Iterable[Any], batch_size: int, epoch: int = 0
    ) -> torch.optim.Optimizer:
        """A ``torch.optim.Optimizer`` applying this neon rule to ``params``.

        The gradient in ``.grad`` is taken as neon's summed ``dW`` and divided by
        ``batch_size``: with a loss that is a sum over the batch pass the batch size; with a
        batch-*mean* loss (the torch default) pass ``batch_size=1``. Schedules are evaluated at
        the adapter's ``epoch`` attribute (set it at every epoch start). The adapter drives this
        very object, so its counters (``Adam.t``, a ``StepSchedule``'s rate) advance; give each
        adapter its own optimizer. See
        :class:`~neon_torch.optimizers.torch_adapter.NeonTorchOptimizer`.
        """
        return NeonTorchOptimizer(params, self, batch_size, epoch=epoch)

    # -- state neon keeps on the object (not in .prm files) -------------------------------
    def extra_state(self) -> dict[str, Any]:
        """Counters neon keeps on the optimizer object and never serializes (for checkpoints)."""
        schedule: Any = getattr(self, "schedule", None)
        sched_state = schedule.extra_state() if hasattr(schedule, "extra_state") else {}
        return {"schedule": sched_state} if sched_state else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        if "schedule" in state:
            self.schedule.load_extra_state(state["schedule"])  # type: ignore[attr-defined]  # present when saved

    # -- helpers --------------------------------------------------------------------------
    def _group(self, layer_list: list[Any]) -> ParamGroup:
        key = tuple(id(layer) for layer in layer_list)
        group = self._groups.get(key)
        if group is None:
            group = ParamGroup(layer_list)
            self._groups = {key: group}
        return group

    @staticmethod
    def _scaled_grads(
        grads: list[Tensor], bsz: int, clip_value: float | None
    ) -> list[Tensor] | tuple[Tensor, ...]:
        """``clip(dW / bsz, ±|clip_value|)`` (clipping only when ``clip_value`` is truthy)."""
        g = torch._foreach_div(grads, float(bsz))
        if clip_value:
            bound = abs(float(clip_value))
            torch._foreach_clamp_min_(g, -bound)
            torch._foreach_clamp_max_(g, bound)
        return g

    @classmethod
    def _grad_terms(
        cls, grads: list[Tensor], bsz: int, clip_value: float | None
    ) -> tuple[list[Tensor] | tuple[Tensor, ...], float]:
        """``(g, k)`` such that neon's gradient ``clip(dW / bsz)`` is ``k * g``.

        Without ``clip_value`` no copy is made: ``g`` is the summed ``dW`` itself and
        ``k = 1 / bsz`` is folded into the rule's scalar coefficients (bit-identical to dividing
        first when ``bsz`` is a power of two, within 1 ulp otherwise). With it, ``g`` is the
        clipped quotient and ``k = 1``.
        """
        if clip_value:
            return cls._scaled_grads(grads, bsz, clip_value), 1.0
        return grads, 1.0 / bsz

    @staticmethod
    def _clip_norm_scale(grads: list[Tensor], bsz: int, clip_norm: float | None) -> Tensor | None:
        """neon's global norm scale ``c / max(sqrt(Σ dW²) / bsz, c)``, or None when off."""
        if not clip_norm:
            return None
        norms = torch._foreach_norm(grads)
        norm = torch.linalg.vector_norm(torch.stack(norms)) / float(bsz)
        c = float(clip_norm)
        return c / torch.clamp(norm, min=c)

    @staticmethod
    def _clip_params(params: list[Tensor], clip: float | None) -> None:
        if clip:
            bound = abs(float(clip))
            torch._foreach_clamp_min_(params, -bound)
            torch._foreach_clamp_max_(params, bound)

    @staticmethod
    def _bsz() -> int:
        bsz = current_backend().bsz
        if bsz <= 0:
            raise ValueError(
                "be.bsz is 0: neon optimizers divide gradients by the configured batch size. "
                "Pass batch_size to gen_backend (or set be.bsz) before training."
            )
        return bsz


def check_batch_size(batch_size: Any) -> int:
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
        super().__init__(params, {"batch_size": check_batch_size(batch_size)})
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
            bsz = check_batch_size(group["batch_size"])
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
