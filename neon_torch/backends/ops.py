"""neon 2.6's backend tensor operations (``be.zeros``, ``be.exp``, ``be.sum``, ``be.dot`` ...).

:class:`TensorOps` is mixed into :class:`~neon_torch.backends.backend.Backend`. Every operation
takes backend :class:`~neon_torch.backends.tensor.Tensor` objects, torch tensors, numpy arrays
or numbers and returns a :class:`Tensor`; with ``out=`` the result is copied into ``out``,
which is returned (neon's op-tree assignment). neon builds lazy op-trees; here each operation
runs at once in torch, which gives neon's numbers:

* element-wise operations broadcast as numpy does (``(F, 1)`` against ``(F, N)``);
* reductions keep their axis: ``be.sum(x, axis=0)`` of an ``(F, N)`` tensor is ``(1, N)``,
  ``axis=None`` reduces everything to ``(1, 1)``; ``var`` is the biased variance;
* comparisons give 1.0 / 0.0 in the operands' float type;
* ``argmax``/``argmin`` give the index as a float in the tensor's type (axis kept).

Random fills (``make_binary_mask``, initializers through ``be.rng``) draw from ``be.rng``, the
numpy stream neon's CPU backend uses, so seeded scripts reproduce neon's numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import ShapeMismatchError
from .tensor import Tensor, as_torch, one_hot, torch_dtype

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TensorOps"]

_LOG_FLOOR = math.exp(-50.0)


def _t(value: Any, like: Any = None) -> Any:
    ref = like._tensor if isinstance(like, Tensor) else like
    return as_torch(value, ref if isinstance(ref, torch.Tensor) else None)


def _tensor_of(value: Any) -> torch.Tensor:
    t = _t(value)
    return t if isinstance(t, torch.Tensor) else torch.tensor(t)


class TensorOps:
    """neon's allocation, element-wise, reduction and linear-algebra operations on torch.

    The host class provides ``device``, ``torch_dtype``, ``datatype``, ``bsz`` and ``rng``.
    """

    device: torch.device
    torch_dtype: torch.dtype
    datatype: np.dtype
    bsz: int
    rng: np.random.RandomState

    # -- results -------------------------------------------------------------------------
    @staticmethod
    def _result(value: Any, out: Tensor | None) -> Tensor:
        if out is None:
            return value if isinstance(value, Tensor) else Tensor(_tensor_of(value))
        out[:] = value
        return out

    def _unary(self, fn: Callable[[torch.Tensor], torch.Tensor], a: Any, out: Any) -> Tensor:
        return self._result(Tensor(fn(_tensor_of(a))), out)

    def _binary(self, fn: Callable[[Any, Any], torch.Tensor], a: Any, b: Any, out: Any) -> Tensor:
        x, y = _t(a), _t(b, a)
        if not isinstance(x, torch.Tensor) and not isinstance(y, torch.Tensor):
            x = torch.tensor(x, dtype=self.torch_dtype, device=self.device)
        return self._result(Tensor(fn(x, y)), out)

    def _compare(self, fn: Callable[[Any, Any], torch.Tensor], a: Any, b: Any, out: Any) -> Tensor:
        x, y = _t(a), _t(b, a)
        if not isinstance(x, torch.Tensor):
            x = torch.tensor(x, dtype=self.torch_dtype, device=self.device)
        kind = x.dtype if x.is_floating_point() else self.torch_dtype
        return self._result(Tensor(fn(x, y).to(kind)), out)

    # -- allocation ----------------------------------------------------------------------
    def _shape(self, shape: Any) -> tuple[int, ...]:
        dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        for d in dims:
            if int(d) != d or d < 0:
                raise ShapeMismatchError(
                    f"Tensor shape {tuple(dims)} holds {d!r}; every dimension must be a "
                    "non-negative integer."
                )
        return tuple(int(d) for d in dims)

    def _dtype(self, dtype: Any) -> torch.dtype:
        return self.torch_dtype if dtype is None else torch_dtype(dtype)

    def empty(
        self,
        shape: Any,
        dtype: Any = None,
        name: str | None = None,
        persist_values: bool = True,
        parallel: bool = False,
        distributed: bool = False,
    ) -> Tensor:
        """An uninitialised tensor of ``shape`` (at least 2-D; ``(n,)`` becomes ``(n, 1)``)."""
        return self._allocate(torch.empty, shape, dtype, name, persist_values)

    def zeros(
        self,
        shape: Any,
        dtype: Any = None,
        name: str | None = None,
        persist_values: bool = True,
        parallel: bool = False,
        distributed: bool = False,
    ) -> Tensor:
        """A tensor of zeros."""
        return self._allocate(torch.zeros, shape, dtype, name, persist_values)

    def ones(
        self,
        shape: Any,
        dtype: Any = None,
        name: str | None = None,
        persist_values: bool = True,
        parallel: bool = False,
        distributed: bool = False,
    ) -> Tensor:
        """A tensor of ones."""
        return self._allocate(torch.ones, shape, dtype, name, persist_values)

    def array(
        self,
        ary: Any,
        dtype: Any = None,
        name: str | None = None,
        persist_values: bool = True,
        parallel: bool = False,
        distributed: bool = False,
    ) -> Tensor:
        """A tensor holding a copy of ``ary`` (in the backend's dtype unless ``dtype``)."""
        src = ary.get() if isinstance(ary, Tensor) else np.asarray(ary)
        t = torch.tensor(src, dtype=self._dtype(dtype), device=self.device)
        return Tensor(t, name=name, persist_values=persist_values)

    def empty_like(self, ary: Any, dtype: Any = None, name: str | None = None, **_: Any) -> Tensor:
        """An uninitialised tensor of ``ary``'s shape (and dtype unless ``dtype``)."""
        return self._allocate_like(torch.empty, ary, dtype, name)

    def zeros_like(self, ary: Any, dtype: Any = None, name: str | None = None, **_: Any) -> Tensor:
        """Zeros of ``ary``'s shape (and dtype unless ``dtype``)."""
        return self._allocate_like(torch.zeros, ary, dtype, name)

    def _allocate(
        self, factory: Any, shape: Any, dtype: Any, name: str | None, persist_values: bool
    ) -> Tensor:
        t = factory(self._shape(shape), dtype=self._dtype(dtype), device=self.device)
        return Tensor(t, name=name, persist_values=persist_values)

    def _allocate_like(self, factory: Any, ary: Any, dtype: Any, name: str | None) -> Tensor:
        src = _tensor_of(ary)
        kind = src.dtype if dtype is None else torch_dtype(dtype)
        return Tensor(factory(src.shape, dtype=kind, device=self.device), name=name)

    def iobuf(
        self,
        dim0: Any,
        x: Tensor | None = None,
        dtype: Any = None,
        name: str | None = None,
        persist_values: bool = True,
        shared: Tensor | None = None,
        parallelism: str | None = None,
    ) -> Tensor:
        """A zeroed ``(features, batch)`` buffer for per-sample shape ``dim0``.

        neon semantics: an int ``F`` gives ``(F, bsz)``, a sequence ``(F, T)`` gives
        ``(F, T·bsz)``, a longer shape gives ``(prod(shape), bsz)``; ``x`` is returned as it is
        when given; ``shared`` lends its storage.
        """
        if x is not None:
            return x
        if isinstance(dim0, tuple):
            bufshape = (
                (dim0[0], dim0[1] * self.bsz) if len(dim0) == 2 else (int(np.prod(dim0)), self.bsz)
            )
        else:
            bufshape = (int(dim0), self.bsz)
        if shared is not None:
            out = shared if shared.shape == bufshape else shared.share(bufshape)
        else:
            out = self.empty(bufshape, dtype=dtype, name=name, persist_values=persist_values)
        out[:] = 0
        return out

    def onehot(self, indices: Any, axis: int, out: Tensor | None = None) -> Tensor:
        """One-hot rows (``axis=0``: ``out[indices[j], j] = 1``) or columns (``axis=1``:
        ``out[j, indices[j]] = 1``). Without ``out`` the length along ``axis`` is
        ``max(indices) + 1``, except when the result is assigned (``buf[:] = be.onehot(...)``):
        then, as with neon's op-tree, the destination's length is used."""
        if axis not in (0, 1):
            raise ShapeMismatchError(f"onehot axis must be 0 or 1, got {axis!r}.")
        idx = _tensor_of(indices).reshape(-1).long().to(self.device)
        spec = None
        if out is None:
            width = int(idx.max()) + 1 if idx.numel() else 0
            shape = (width, idx.numel()) if axis == 0 else (idx.numel(), width)
            out = self.zeros(shape)
            spec = (idx, axis)
        out[:] = one_hot(tuple(out.shape), idx, axis, out.torch.dtype)
        out.onehot_of = spec
        return out

    # -- element-wise --------------------------------------------------------------------
    def add(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """``a + b``."""
        return self._binary(torch.add, a, b, out)

    def subtract(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """``a - b``."""
        return self._binary(torch.sub, a, b, out)

    def multiply(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """``a * b``."""
        return self._binary(torch.mul, a, b, out)

    def divide(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """``a / b``."""
        return self._binary(torch.true_divide, a, b, out)

    true_divide = divide

    def power(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """``a ** b``."""
        return self._binary(torch.pow, a, b, out)

    def maximum(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """Element-wise maximum."""
        return self._binary(_maximum, a, b, out)

    def minimum(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """Element-wise minimum."""
        return self._binary(_minimum, a, b, out)

    def reciprocal(self, a: Any, out: Tensor | None = None) -> Tensor:
        """``1 / a``."""
        return self._unary(torch.reciprocal, a, out)

    def negative(self, a: Any, out: Tensor | None = None) -> Tensor:
        """``-a``."""
        return self._unary(torch.neg, a, out)

    def sgn(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Sign: -1, 0 or 1."""
        return self._unary(torch.sign, a, out)

    def absolute(self, a: Any, out: Tensor | None = None) -> Tensor:
        """``|a|``."""
        return self._unary(torch.abs, a, out)

    fabs = absolute

    def sqrt(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Square root."""
        return self._unary(torch.sqrt, a, out)

    def square(self, a: Any, out: Tensor | None = None) -> Tensor:
        """``a * a``."""
        return self._unary(torch.square, a, out)

    def exp(self, a: Any, out: Tensor | None = None) -> Tensor:
        """``e ** a``."""
        return self._unary(torch.exp, a, out)

    def exp2(self, a: Any, out: Tensor | None = None) -> Tensor:
        """``2 ** a``."""
        return self._unary(torch.exp2, a, out)

    def log(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Natural logarithm."""
        return self._unary(torch.log, a, out)

    def log2(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Base-2 logarithm."""
        return self._unary(torch.log2, a, out)

    def safelog(self, a: Any, out: Tensor | None = None) -> Tensor:
        """neon's ``log(max(a, exp(-50)))``."""
        return self._unary(lambda x: torch.log(torch.clamp(x, min=_LOG_FLOOR)), a, out)

    def sig(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Logistic ``1 / (1 + exp(-a))``."""
        return self._unary(lambda x: 1.0 / (1.0 + torch.exp(-x)), a, out)

    def sig2(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Base-2 logistic ``1 / (1 + 2 ** -a)``."""
        return self._unary(lambda x: 1.0 / (1.0 + torch.exp2(-x)), a, out)

    def tanh(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Hyperbolic tangent."""
        return self._unary(torch.tanh, a, out)

    def tanh2(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Base-2 tanh ``(2 ** 2a - 1) / (2 ** 2a + 1)``."""
        return self._unary(lambda x: (torch.exp2(2 * x) - 1) / (torch.exp2(2 * x) + 1), a, out)

    def finite(self, a: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a`` is finite, else 0.0."""
        return self._unary(lambda x: torch.isfinite(x).to(_float_of(x, self)), a, out)

    def rint(self, a: Any, out: Tensor | None = None) -> Tensor:
        """Round to the nearest integer (halves to even)."""
        return self._unary(torch.round, a, out)

    def clip(self, a: Any, a_min: Any, a_max: Any, out: Tensor | None = None) -> Tensor:
        """``a`` limited to ``[a_min, a_max]`` (numbers or tensors)."""
        x = _tensor_of(a)
        return self._result(Tensor(_minimum(_maximum(x, _t(a_min, x)), _t(a_max, x))), out)

    def equal(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a == b``."""
        return self._compare(torch.eq, a, b, out)

    def not_equal(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a != b``."""
        return self._compare(torch.ne, a, b, out)

    def less(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a < b``."""
        return self._compare(torch.lt, a, b, out)

    def less_equal(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a <= b``."""
        return self._compare(torch.le, a, b, out)

    def greater(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a > b``."""
        return self._compare(torch.gt, a, b, out)

    def greater_equal(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """1.0 where ``a >= b``."""
        return self._compare(torch.ge, a, b, out)

    def binarize(self, ary: Any, out: Tensor, stochastic: bool = True) -> Tensor:
        """neon's binarization into ``out``: +1 / -1 where ``ary >= 0`` / ``< 0``; with
        ``stochastic``, +1 with probability ``clip((ary + 1) / 2, 0, 1)``, the uniform draws
        taken from numpy's global stream as neon's CPU backend takes them."""
        x = _tensor_of(ary)
        if stochastic:
            prob = torch.clamp((x + 1) / 2.0, 0.0, 1.0)
            draws = torch.as_tensor(np.random.uniform(0, 1, size=tuple(x.shape)), dtype=x.dtype)
            ones = draws.to(x.device) <= prob
        else:
            ones = x >= 0
        return self._result(Tensor(ones.to(x.dtype) * 2 - 1), out)

    def shift(
        self, ary: Any, shift_ary: Any, value: bool = True, out: Tensor | None = None
    ) -> Tensor:
        """neon's "shift" product: ``ary * sign(s) * 2**rint(log2|s|)`` (``s = shift_ary``
        rounded to a signed power of two), or ``ary * 2**s`` when ``value`` is False."""
        from ..layers._shift import ap2

        x, s = _tensor_of(ary), _tensor_of(shift_ary)
        factor = ap2(s) if value else torch.exp2(s)
        return self._result(Tensor(x * factor.to(x.device)), out)

    # -- reductions (axis kept) ----------------------------------------------------------
    def _reduce(
        self, fn: Callable[..., torch.Tensor], a: Any, axis: int | None, out: Any
    ) -> Tensor:
        x = _tensor_of(a)
        if axis is None:
            value = fn(x.reshape(1, -1), 1).reshape(1, 1)
        else:
            value = fn(x, axis)
        return self._result(Tensor(value), out)

    def sum(self, a: Any, axis: int | None = None, out: Tensor | None = None, **_: Any) -> Tensor:
        """Sum over ``axis`` (kept, length 1), or over everything as ``(1, 1)``."""
        return self._reduce(lambda x, d: x.sum(d, keepdim=True), a, axis, out)

    def mean(self, a: Any, axis: int | None = None, out: Tensor | None = None, **_: Any) -> Tensor:
        """Mean over ``axis`` (kept), or over everything as ``(1, 1)``."""
        return self._reduce(lambda x, d: x.mean(d, keepdim=True), a, axis, out)

    def max(self, a: Any, axis: int | None = None, out: Tensor | None = None, **_: Any) -> Tensor:
        """Maximum over ``axis`` (kept), or over everything as ``(1, 1)``."""
        return self._reduce(lambda x, d: x.amax(d, keepdim=True), a, axis, out)

    def min(self, a: Any, axis: int | None = None, out: Tensor | None = None, **_: Any) -> Tensor:
        """Minimum over ``axis`` (kept), or over everything as ``(1, 1)``."""
        return self._reduce(lambda x, d: x.amin(d, keepdim=True), a, axis, out)

    def argmax(self, a: Any, axis: int = 1, out: Tensor | None = None, **_: Any) -> Tensor:
        """Index of the first maximum along ``axis`` (kept), as a float of ``a``'s type."""
        return self._reduce(lambda x, d: _arg(x, d, torch.argmax), a, axis, out)

    def argmin(self, a: Any, axis: int = 1, out: Tensor | None = None, **_: Any) -> Tensor:
        """Index of the first minimum along ``axis`` (kept), as a float of ``a``'s type."""
        return self._reduce(lambda x, d: _arg(x, d, torch.argmin), a, axis, out)

    def var(
        self,
        a: Any,
        axis: int | None = None,
        partial: Any = None,
        out: Tensor | None = None,
        keepdims: bool = True,
        binary: bool = False,
    ) -> Tensor:
        """Biased variance ``mean((a - mean(a))²)`` over ``axis`` (kept) or everything."""
        x = _tensor_of(a)
        centred = x - self.mean(x, axis=axis).torch
        return self.mean(centred * centred, axis=axis, out=out)

    def std(
        self,
        a: Any,
        axis: int | None = None,
        partial: Any = None,
        out: Tensor | None = None,
        keepdims: bool = True,
    ) -> Tensor:
        """``sqrt(var(a, axis))``."""
        return self.sqrt(self.var(a, axis=axis), out=out)

    def take(self, a: Any, indices: Any, axis: int, out: Tensor | None = None) -> Tensor:
        """``a.take(indices, axis)`` (see :meth:`Tensor.take`)."""
        src = a if isinstance(a, Tensor) else Tensor(_tensor_of(a))
        return self._result(src.take(indices, axis), out)

    # -- linear algebra ------------------------------------------------------------------
    def dot(self, a: Any, b: Any, out: Tensor | None = None) -> Tensor:
        """Matrix product ``a @ b``."""
        return self._result(Tensor(_tensor_of(a) @ _tensor_of(b)), out)

    def compound_dot(
        self,
        A: Any,
        B: Any,
        C: Tensor,
        alpha: float = 1.0,
        beta: float = 0.0,
        relu: bool = False,
        bsum: Tensor | None = None,
    ) -> Tensor:
        """``C = alpha · A @ B + beta · C`` (then ``max(C, 0)`` with ``relu``); ``bsum``
        receives the row sums of ``C``. ``A``, ``B`` and ``C`` must have matching shapes."""
        a, b, c = _tensor_of(A), _tensor_of(B), _tensor_of(C)
        if a.shape[-1] != b.shape[-2] or c.shape[-2:] != (a.shape[-2], b.shape[-1]):
            raise ShapeMismatchError(
                f"compound_dot received A {tuple(a.shape)}, B {tuple(b.shape)}, C "
                f"{tuple(c.shape)}; expected A (m, k), B (k, n) and C (m, n)."
            )
        with torch.no_grad():
            if c.is_contiguous() and c.dtype == a.dtype == b.dtype and a.dim() == 2:
                # straight into C's storage, no temporary
                if beta == 0:
                    torch.mm(a, b, out=c)
                    if alpha != 1.0:
                        c.mul_(alpha)
                else:
                    c.addmm_(a, b, beta=beta, alpha=alpha)
            else:
                value = a @ b if beta == 0 else torch.addmm(c, a, b, beta=beta, alpha=alpha)
                c.copy_(value if beta != 0 or alpha == 1.0 else alpha * value)
            if relu:
                c.clamp_(min=0)
            if bsum is not None:
                bsum[:] = c.sum(1, keepdim=True)
        return C if isinstance(C, Tensor) else Tensor(c)

    def batched_dot(
        self,
        A: Any,
        B: Any,
        C: Tensor,
        alpha: float = 1.0,
        beta: float = 0.0,
        relu: bool = False,
    ) -> Tensor:
        """``compound_dot`` for each leading index of 3-D tensors (2-D ones are shared)."""
        a, b, c = _tensor_of(A), _tensor_of(B), _tensor_of(C)
        with torch.no_grad():
            value = alpha * torch.matmul(a, b) + (beta * c if beta else 0)
            c.copy_(torch.clamp(value, min=0) if relu else value)
        return C if isinstance(C, Tensor) else Tensor(c)

    def copy_transpose(self, a: Any, out: Tensor, axes: Any = None, repeat: int = 1) -> Tensor:
        """``out = a`` with its axes permuted (reversed when ``axes`` is None)."""
        x = _tensor_of(a)
        order = tuple(axes) if axes is not None else tuple(reversed(range(x.dim())))
        out[:] = x.permute(*order)
        return out

    def update_fc_bias(self, err: Any, out: Tensor) -> Tensor:
        """``out = sum(err, axis=1)``: a fully connected bias gradient."""
        return self.sum(err, axis=1, out=out)

    def add_fc_bias(self, inputs: Tensor, bias: Any) -> Tensor:
        """``inputs += bias`` (a column added to every sample)."""
        return self.add(inputs, bias, out=inputs)

    # -- random fills --------------------------------------------------------------------
    def make_binary_mask(self, out: Tensor, keepthresh: float = 0.5) -> Tensor:
        """``out = (uniform < keepthresh)`` drawn from ``be.rng`` (neon's Dropout mask)."""
        mask = self.rng.uniform(size=out.shape) < keepthresh
        out.set(mask.astype(out.dtype))
        return out

    def fill_normal(self, ary: Tensor, mean: float = 0.0, stdv: float = 1.0) -> Tensor:
        """Fill with normal draws. neon's CPU backend draws these from numpy's global stream
        (``np.random``), not ``be.rng``; so does this."""
        ary[:] = np.random.standard_normal(ary.shape) * stdv + mean
        return ary

    # -- neon's execution model (op-trees run at once here) ------------------------------
    def execute(self, optree: Any) -> Any:
        """Op-trees are already evaluated: returns ``optree``."""
        return optree

    def begin(self, block: Any, identifier: Any) -> None:
        """neon's profiling block marker (no effect)."""

    def end(self, block: Any, identifier: Any) -> None:
        """neon's profiling block marker (no effect)."""

    def output_dim(
        self,
        X: int,
        S: int,
        padding: int,
        strides: int,
        pooling: bool = False,
        dilation: int = 1,
    ) -> int:
        """neon's output length along one axis of a convolution or pooling over ``X`` with a
        filter of ``S`` (dilated by ``dilation``); caffe mode rounds pooling up."""
        span = dilation * (S - 1) + 1
        if pooling and padding >= span:
            raise ShapeMismatchError(
                f"output_dim: padding {padding} is not smaller than the pooling window {span}; "
                "use a smaller padding."
            )
        if pooling and getattr(self, "compat_mode", None) == "caffe":
            size = math.ceil((X - span + 2 * padding) / strides) + 1
            if padding > 0 and (size - 1) * strides >= X + padding:
                size -= 1  # the last window would lie entirely in the padding
            return int(size)
        return (X - span + 2 * padding) // strides + 1


def _float_of(x: torch.Tensor, be: TensorOps) -> torch.dtype:
    return x.dtype if x.is_floating_point() else be.torch_dtype


def _maximum(a: Any, b: Any) -> torch.Tensor:
    if isinstance(b, torch.Tensor):
        return torch.maximum(a, b.to(a.dtype) if b.dim() == 0 else b)
    return torch.clamp(a, min=b)


def _minimum(a: Any, b: Any) -> torch.Tensor:
    if isinstance(b, torch.Tensor):
        return torch.minimum(a, b.to(a.dtype) if b.dim() == 0 else b)
    return torch.clamp(a, max=b)


def _arg(x: torch.Tensor, axis: int, fn: Callable[..., torch.Tensor]) -> torch.Tensor:
    kind = x.dtype if x.is_floating_point() else torch.float32
    return fn(x, dim=axis, keepdim=True).to(kind)
