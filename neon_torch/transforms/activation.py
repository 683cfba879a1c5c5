"""neon's activation transforms, with neon's forward *and* neon's backward.

neon expresses every derivative as a function of the activation's **output** ``y``, and two of
them are not the calculus derivative: ``Softmax`` always back-propagates the identity (its
partner cost, ``CrossEntropyMulti``, already returns ``y - t``) and ``Logistic(shortcut=True)``
does the same. Calling a transform on a torch tensor gives the forward value with exactly that
backward under autograd; :meth:`Transform.bprop` returns neon's derivative of an output.

Inputs are batch-first; non-elementwise transforms (``Softmax``) act on the last axis, which
holds the features (the Activation layer flattens image features first, as neon does).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backends.backend import NervanaObject
from ..convert.modules import BinarySign, ClippedRectlin, FlatSoftmax, Scale
from ..errors import NotConfiguredError, UnsupportedNeonFeature
from ..registry import neon_type
from ._neon_style import NeonTransformFunction, written_by_user

__all__ = [
    "Explin",
    "Identity",
    "Logistic",
    "Normalizer",
    "Rectlin",
    "Rectlinclip",
    "Sign",
    "Softmax",
    "Tanh",
    "Transform",
]

_MODULE = "neon.transforms.activation"


class _IdentityBackward(torch.autograd.Function):
    """Forward ``fn(x)``; backward passes the incoming gradient through unchanged."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, fn: Any) -> Tensor:
        return fn(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


class _OutputDerivative(torch.autograd.Function):
    """Forward ``transform.forward_value(x)``; backward ``grad * transform.bprop(y)``.

    Used where torch's own derivative differs from neon's at isolated points (e.g. leaky
    Rectlin and Explin at ``x == 0``, where neon's derivative of the output is 0).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, transform: Any) -> Tensor:
        y = transform.forward_value(x)
        ctx.save_for_backward(y)
        ctx.transform = transform
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (y,) = ctx.saved_tensors
        return grad * ctx.transform.bprop(y), None


def _softmax_last(x: Tensor) -> Tensor:
    return torch.softmax(x, dim=-1)


class Transform(NervanaObject):
    """Base class of activation transforms (neon's ``neon.transforms.transform.Transform``).

    Subclasses implement ``__call__(x) -> y`` (autograd-aware, neon's backward) and
    ``bprop(y)``, neon's derivative written as a function of the output.
    ``elementwise`` tells the Activation layer whether the feature layout matters.
    """

    elementwise = True
    #: a subclass written against neon's API (its ``__call__`` is defined outside neon_torch):
    #: ``__call__`` and ``bprop`` take backend Tensors in neon's ``(features, batch)`` layout
    _neon_style: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._neon_style = written_by_user(cls, "__call__")

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def apply(self, x: Tensor) -> Tensor:
        """The transform on a batch-first torch tensor with neon's backward (a neon-style
        subclass runs through :class:`~._neon_style.NeonTransformFunction`)."""
        if self._neon_style:
            return NeonTransformFunction.apply(x, self)
        return self(x)

    def bprop(self, y: Tensor) -> Tensor:
        """neon's derivative of this transform evaluated at the output ``y``."""
        raise NotImplementedError

    def to_torch(self, flat_features: bool = True) -> nn.Module:
        """A plain ``torch.nn`` module computing this transform's forward pass.

        ``flat_features`` is False for image-shaped inputs, whose non-elementwise transforms
        (Softmax) act on all ``C·H·W`` features of a sample. Each neon transform gives its own
        form (``_torch_module``); a subclass that redefines ``__call__`` without giving one
        computes something else, so it is refused.

        Raises:
            UnsupportedNeonFeature: the transform has no plain-torch form.
        """
        owner = next(c for c in type(self).__mro__ if "__call__" in c.__dict__)
        if "_torch_module" not in owner.__dict__:
            raise UnsupportedNeonFeature(
                f"the activation {type(self).__name__} has no plain-torch form; give the class "
                "a _torch_module(flat_features) method returning an nn.Module to convert it."
            )
        return self._torch_module(flat_features)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        raise NotImplementedError


@neon_type(f"{_MODULE}.Identity", "neon.transforms.Identity")
class Identity(Transform):
    """``y = x``; derivative 1."""

    def __call__(self, x: Tensor) -> Tensor:
        return x

    def bprop(self, y: Tensor) -> Tensor:
        return torch.ones_like(y)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return nn.Identity()


@neon_type(f"{_MODULE}.Rectlin", "neon.transforms.Rectlin")
class Rectlin(Transform):
    """Rectified linear unit, leaky when ``slope`` is non-zero.

    ``y = max(x, 0) + slope * min(x, 0)``; derivative ``[y > 0] + slope * [y < 0]``.
    """

    def __init__(self, slope: float = 0, name: str | None = None) -> None:
        super().__init__(name)
        self.slope = slope

    def forward_value(self, x: Tensor) -> Tensor:
        return torch.relu(x) if self.slope == 0 else F.leaky_relu(x, self.slope)

    def __call__(self, x: Tensor) -> Tensor:
        if self.slope == 0:  # torch's relu backward is neon's ([y > 0])
            return torch.relu(x)
        return _OutputDerivative.apply(x, self)

    def bprop(self, y: Tensor) -> Tensor:
        return (y > 0).to(y.dtype) + self.slope * (y < 0).to(y.dtype)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        slope = float(self.slope or 0)
        return nn.LeakyReLU(slope) if slope else nn.ReLU()


@neon_type(f"{_MODULE}.Rectlinclip", "neon.transforms.Rectlinclip")
class Rectlinclip(Transform):
    """Rectlin clipped from above at ``xcut``.

    ``y = min(max(x, 0) + slope * min(x, 0), xcut)``;
    derivative ``([y > 0] + slope * [y < 0]) * [y < xcut]``.
    """

    def __init__(self, slope: float = 0, name: str | None = None, xcut: float = 20.0) -> None:
        super().__init__(name)
        self.slope = slope
        self.xcut = xcut

    def forward_value(self, x: Tensor) -> Tensor:
        y = torch.relu(x) if self.slope == 0 else F.leaky_relu(x, self.slope)
        return torch.clamp(y, max=self.xcut)

    def __call__(self, x: Tensor) -> Tensor:
        return _OutputDerivative.apply(x, self)

    def bprop(self, y: Tensor) -> Tensor:
        inside = (y < self.xcut).to(y.dtype)
        return ((y > 0).to(y.dtype) + self.slope * (y < 0).to(y.dtype)) * inside

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return ClippedRectlin(float(self.slope or 0), float(self.xcut))


@neon_type(f"{_MODULE}.Explin", "neon.transforms.Explin")
class Explin(Transform):
    """Exponential linear unit: ``y = max(x, 0) + alpha * (exp(min(x, 0)) - 1)``.

    Derivative (of the output) ``[y > 0] + min(y, 0) + alpha * [y < 0]``.
    """

    def __init__(self, alpha: float = 1.0, name: str | None = None) -> None:
        super().__init__(name)
        self.alpha = alpha

    def forward_value(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def __call__(self, x: Tensor) -> Tensor:
        return _OutputDerivative.apply(x, self)

    def bprop(self, y: Tensor) -> Tensor:
        return (y > 0).to(y.dtype) + torch.clamp(y, max=0) + self.alpha * (y < 0).to(y.dtype)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return nn.ELU(float(self.alpha))


@neon_type(f"{_MODULE}.Normalizer", "neon.transforms.Normalizer")
class Normalizer(Transform):
    """``y = x / divisor``; derivative ``1 / divisor``."""

    def __init__(self, name: str | None = None, divisor: float = 128.0) -> None:
        super().__init__(name)
        self.divisor = divisor

    def __call__(self, x: Tensor) -> Tensor:
        return x / self.divisor

    def bprop(self, y: Tensor) -> Tensor:
        return torch.full_like(y, 1.0 / self.divisor)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return Scale(1.0 / float(self.divisor))


@neon_type(f"{_MODULE}.Softmax", "neon.transforms.Softmax")
class Softmax(Transform):
    """Softmax over the features (neon's ``axis=0``), max-subtracted.

    neon semantics: the backward is the **identity** (``bprop`` returns 1), because
    ``CrossEntropyMulti``'s delta ``y - t`` is already the gradient for the logits.
    ``epsilon`` is stored but unused, as in neon.
    """

    elementwise = False

    def __init__(self, axis: int = 0, name: str | None = None, epsilon: float = 2**-23) -> None:
        super().__init__(name)
        self.axis = axis
        self.epsilon = epsilon

    def __call__(self, x: Tensor) -> Tensor:
        return _IdentityBackward.apply(x, _softmax_last)

    def bprop(self, y: Tensor) -> Tensor:
        return torch.ones_like(y)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return nn.Softmax(dim=-1) if flat_features else FlatSoftmax()


@neon_type(f"{_MODULE}.Tanh", "neon.transforms.Tanh")
class Tanh(Transform):
    """``y = tanh(x)``; derivative ``1 - y**2``."""

    def __call__(self, x: Tensor) -> Tensor:
        return torch.tanh(x)

    def bprop(self, y: Tensor) -> Tensor:
        return 1.0 - y * y

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return nn.Tanh()


@neon_type(f"{_MODULE}.Logistic", "neon.transforms.Logistic")
class Logistic(Transform):
    """Sigmoid ``y = 1 / (1 + exp(-x))``.

    neon semantics: the derivative is ``y * (1 - y)`` unless ``shortcut=True``, which makes it 1
    (for use with ``CrossEntropyBinary``, whose delta is already ``y - t``). neon 2.6's ``fit``
    never turns the shortcut on by itself, and neither does neon_torch.
    """

    def __init__(self, name: str | None = None, shortcut: bool = False) -> None:
        super().__init__(name)
        self.shortcut = shortcut

    def set_shortcut(self, shortcut: bool) -> None:
        """Turn the identity backward on or off (neon API)."""
        self.shortcut = shortcut

    def __call__(self, x: Tensor) -> Tensor:
        if self.shortcut:
            return _IdentityBackward.apply(x, torch.sigmoid)
        return torch.sigmoid(x)

    def bprop(self, y: Tensor) -> Tensor:
        if self.shortcut:
            return torch.ones_like(y)
        return y * (1.0 - y)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return nn.Sigmoid()


class _SignFunction(torch.autograd.Function):
    """Forward ``binarize(x)``; backward the straight-through estimator ``grad * [|x| <= 1]``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


@neon_type(f"{_MODULE}.Sign", "neon.transforms.Sign")
class Sign(Transform):
    """neon's binarizing activation: ``y = +1`` where ``x >= 0``, ``-1`` elsewhere (0 gives +1).

    neon semantics: the backward is the straight-through estimator ``[|x| <= 1]``, a function
    of the **input** ``x``, not of the output; :meth:`bprop` therefore reads the input of the
    latest call, as neon's does (its argument is ignored).
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.inputs: Tensor | None = None

    def __call__(self, x: Tensor) -> Tensor:
        self.inputs = x.detach()
        return _SignFunction.apply(x)

    def bprop(self, y: Tensor) -> Tensor:
        if self.inputs is None:
            raise NotConfiguredError("Sign.bprop needs a preceding call of the transform.")
        return (self.inputs.abs() <= 1).to(self.inputs.dtype)

    def _torch_module(self, flat_features: bool) -> nn.Module:
        return BinarySign()
