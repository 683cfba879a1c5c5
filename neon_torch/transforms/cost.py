"""neon's cost functions and the gradient convention they carry.

**The gradient convention (read once, used everywhere).** A cost function maps outputs ``y``
and targets ``t`` to one value per sample (a reduction over the feature axis). Its ``bprop``
returns neon's delta for ``y``, which is *not* divided by the batch size: back-propagating it
leaves in every parameter's ``.grad`` the **sum** over the minibatch of the per-sample
gradients, and neon's optimizers divide by the configured batch size ``be.bsz`` themselves.
The cost neon reports (``GeneralizedCost.get_cost``) is the **mean** over the samples.

The cross-entropy deltas are ``y - t``: the gradient for the logits of a Softmax/Logistic
output, not for ``y``. neon applies the output activation's own derivative on top (1 for
Softmax, ``y(1 - y)`` for ``Logistic()`` without shortcut), and so does neon_torch.

Shapes are batch-first: ``y`` and ``t`` are ``(N, F)`` (or ``(N, T, F)`` for sequences); values
come back as ``(N,)`` (or ``(N, T)``), deltas shaped like ``y``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from .._object import Describable
from ..backends.backend import Backend, current_backend
from ..errors import ShapeMismatchError, UnsupportedNeonFeature
from ..registry import neon_type
from ._neon_style import is_user_class, written_by_user

__all__ = [
    "Cost",
    "CrossEntropyBinary",
    "CrossEntropyMulti",
    "GANCost",
    "MeanSquared",
    "SmoothL1Loss",
    "SquareHingeLoss",
    "SumSquared",
    "safelog",
]

_MODULE = "neon.transforms.cost"
_LOG_FLOOR = math.exp(-50.0)


def safelog(x: Tensor) -> Tensor:
    """neon's ``safelog``: ``log(max(x, exp(-50)))``."""
    return torch.log(torch.clamp(x, min=_LOG_FLOOR))


class Cost(Describable):
    """Base class of cost functions: ``cost(y, t)`` per sample and ``cost.bprop(y, t)``.

    As in neon, a subclass implements ``__call__``/``bprop`` or sets ``self.func`` and
    ``self.funcgrad`` (``__call__`` and ``bprop`` then call them). A subclass whose ``__call__``
    (or ``func``) is defined outside neon_torch is written against neon's API: it receives
    backend Tensors in neon's ``(features, batch)`` layout and returns the per-sample cost as
    ``(1, N)`` (``(1, T·N)`` for sequences) and the delta as ``(F, N)``; ``GeneralizedCost``
    converts both ways.
    """

    #: user code on neon-layout backend Tensors (see above)
    _neon_style: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # user code: its own __call__, or neon's func/funcgrad through Cost.__call__
        cls._neon_style = written_by_user(cls, "__call__") or (
            is_user_class(cls) and cls.__call__ is Cost.__call__
        )

    @property
    def be(self) -> Backend:
        """The global backend (neon's ``NervanaObject.be``), for backend-tensor code."""
        return current_backend()

    def __call__(self, y: Any, t: Any) -> Any:
        return self._neon_function("func")(y, t)

    def bprop(self, y: Any, t: Any) -> Any:
        """neon's delta for ``y`` (not divided by the batch size)."""
        return self._neon_function("funcgrad")(y, t)

    def _neon_function(self, name: str) -> Any:
        fn = getattr(self, name, None)
        if fn is None:
            method = "__call__" if name == "func" else "bprop"
            raise UnsupportedNeonFeature(
                f"{type(self).__name__} defines neither {method}() nor self.{name}; set "
                f"self.func and self.funcgrad (e.g. lambdas over backend tensors) or override "
                "__call__ and bprop, as neon's Cost subclasses do."
            )
        return fn


@neon_type(f"{_MODULE}.CrossEntropyBinary", "neon.transforms.CrossEntropyBinary")
class CrossEntropyBinary(Cost):
    """``Σ_f -t·safelog(y) - (1 - t)·safelog(1 - y)``; delta ``scale · (y - t)``.

    ``scale`` changes only the delta, never the reported value.
    """

    def __init__(self, scale: float = 1) -> None:
        self.scale = scale

    def __call__(self, y: Tensor, t: Tensor) -> Tensor:
        return (safelog(1 - y) * (t - 1) - safelog(y) * t).sum(-1)

    def bprop(self, y: Tensor, t: Tensor) -> Tensor:
        return y - t if self.scale == 1 else self.scale * (y - t)


@neon_type(f"{_MODULE}.CrossEntropyMulti", "neon.transforms.CrossEntropyMulti")
class CrossEntropyMulti(Cost):
    """``Σ_f -t·safelog(y)·L``, ``L = 1/ln 2`` if ``usebits`` else 1; delta ``L·scale·(y - t)``."""

    def __init__(self, scale: float = 1, usebits: bool = False) -> None:
        self.scale = scale
        self.usebits = usebits
        self.logscale = 1.0 / math.log(2.0) if usebits else 1.0

    def __call__(self, y: Tensor, t: Tensor) -> Tensor:
        return (-t * safelog(y)).sum(-1) * self.logscale

    def bprop(self, y: Tensor, t: Tensor) -> Tensor:
        return (self.logscale * self.scale) * (y - t)


@neon_type(f"{_MODULE}.SumSquared", "neon.transforms.SumSquared")
class SumSquared(Cost):
    """``Σ_f (y - t)² / 2``; delta ``y - t``."""

    def __call__(self, y: Tensor, t: Tensor) -> Tensor:
        return ((y - t) ** 2).sum(-1) / 2.0

    def bprop(self, y: Tensor, t: Tensor) -> Tensor:
        return y - t


@neon_type(f"{_MODULE}.MeanSquared", "neon.transforms.MeanSquared")
class MeanSquared(Cost):
    """``mean_f (y - t)² / 2`` (mean over the features); delta ``(y - t) / F``."""

    def __call__(self, y: Tensor, t: Tensor) -> Tensor:
        return ((y - t) ** 2).mean(-1) / 2.0

    def bprop(self, y: Tensor, t: Tensor) -> Tensor:
        return (y - t) / y.shape[-1]


@neon_type(f"{_MODULE}.SmoothL1Loss", "neon.transforms.SmoothL1Loss")
class SmoothL1Loss(Cost):
    """Smooth L1: ``Σ_f h(y - t)``, ``h(d) = 0.5·σ²·d²`` if ``|d| < 1/σ²`` else ``|d| - 0.5/σ²``.

    Delta ``σ²·d`` inside the quadratic zone, ``sign(d)`` outside.
    """

    def __init__(self, sigma: float = 1.0) -> None:
        self.sigma = sigma
        self.sigma2 = sigma * sigma

    def __call__(self, y: Tensor, t: Tensor) -> Tensor:
        d = y - t
        absd = d.abs()
        quad = 0.5 * self.sigma2 * d * d
        lin = absd - 0.5 / self.sigma2
        return torch.where(absd < 1.0 / self.sigma2, quad, lin).sum(-1)

    def bprop(self, y: Tensor, t: Tensor) -> Tensor:
        d = y - t
        return torch.where(d.abs() < 1.0 / self.sigma2, self.sigma2 * d, torch.sign(d))


@neon_type(f"{_MODULE}.SquareHingeLoss", "neon.transforms.SquareHingeLoss")
class SquareHingeLoss(Cost):
    """Squared hinge loss on ±1 targets ``s = 2t - 1``: ``mean_f max(margin - s·y, 0)²``
    (mean over the features); delta ``-2·s·max(margin - s·y, 0) / F``.
    """

    def __init__(self, margin: float = 1) -> None:
        self.margin = margin

    def __call__(self, y: Tensor, t: Tensor) -> Tensor:
        s = 2 * t - 1
        return torch.clamp(self.margin - s * y, min=0).square().mean(-1)

    def bprop(self, y: Tensor, t: Tensor) -> Tensor:
        s = 2 * t - 1
        return -2 * s * torch.clamp(self.margin - s * y, min=0) / float(y.shape[-1])


@neon_type(f"{_MODULE}.GANCost", "neon.transforms.GANCost")
class GANCost(Cost):
    """The costs of a generative adversarial network, on discriminator outputs.

    ``func``: ``'original'`` / ``'modified'`` (Goodfellow et al. 2014) or ``'wasserstein'``
    (Arjovsky et al. 2017). Per sample, with ``L = safelog``:

    =============  ======================  =====================  =================
    func           discriminator, data     discriminator, noise   generator
    =============  ======================  =====================  =================
    original       ``-L(y_data)``          ``-L(1 - y_noise)``    ``-L(y_noise)``
    modified       ``-L(y_data)``          ``-L(1 - y_noise)``    ``L(1 - y_noise)``
    wasserstein    ``y_data``              ``-y_noise``           ``y_noise``
    =============  ======================  =====================  =================

    ``cost(y_data, y_noise, cost_type)`` is the mean over the output features of the
    ``'dis'`` (data + noise), ``'dis_data'``, ``'dis_noise'`` or ``'gen'`` column. The deltas
    (``bprop_data``, ``bprop_noise``, ``bprop_generator``) are neon's, times ``scale``; note
    that neon's ``'modified'`` generator delta is ``-1/y_noise`` and its cost column stays
    ``L(1 - y_noise)``.
    """

    def __init__(self, scale: float = 1.0, cost_type: str = "dis", func: str = "modified") -> None:
        if cost_type not in ("dis", "gen"):
            raise ValueError(f"GANCost: cost_type must be 'dis' or 'gen', got {cost_type!r}.")
        if func not in ("original", "modified", "wasserstein"):
            raise ValueError(
                f"GANCost: func must be 'original', 'modified' or 'wasserstein', got {func!r}."
            )
        self.scale = scale
        self.cost_type = cost_type
        self.func = func

    def __call__(self, y_data: Tensor, y_noise: Tensor, cost_type: str = "dis") -> Tensor:
        if y_data.shape != y_noise.shape:
            raise ShapeMismatchError(
                f"GANCost: data and noise outputs differ in shape: {tuple(y_data.shape)} vs "
                f"{tuple(y_noise.shape)}."
            )
        if self.func == "wasserstein":
            data, noise, gen = y_data, -y_noise, y_noise
        else:
            data, noise = -safelog(y_data), -safelog(1 - y_noise)
            gen = -safelog(y_noise) if self.func == "original" else safelog(1 - y_noise)
        columns = {"dis": data + noise, "dis_data": data, "dis_noise": noise, "gen": gen}
        if cost_type not in columns:
            raise ValueError(f"GANCost: unknown cost_type {cost_type!r}; one of {list(columns)}.")
        return columns[cost_type].mean(-1)

    def bprop_noise(self, y_noise: Tensor) -> Tensor:
        """Delta of the discriminator cost for the outputs on generated samples."""
        if self.func == "wasserstein":
            return torch.full_like(y_noise, -self.scale)
        return self.scale / (1.0 - y_noise)

    def bprop_data(self, y_data: Tensor) -> Tensor:
        """Delta of the discriminator cost for the outputs on data samples."""
        if self.func == "wasserstein":
            return torch.full_like(y_data, self.scale)
        return self.scale * (-1.0 / y_data)

    def bprop_generator(self, y_noise: Tensor) -> Tensor:
        """Delta of the generator cost for the discriminator's outputs on generated samples."""
        if self.func == "original":
            return self.scale / (y_noise - 1.0)
        if self.func == "modified":
            return -self.scale / y_noise
        return torch.full_like(y_noise, self.scale)
