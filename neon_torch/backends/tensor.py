"""neon's backend ``Tensor`` over torch storage.

A :class:`Tensor` is what ``be.empty``/``be.array``/``be.iobuf`` return and what ``layer.W``,
``layer.dW`` and ``layer.outputs`` hand out: a thin wrapper of one ``torch.Tensor``
(``tensor.torch``) with neon's shapes, neon's methods (``get``, ``set``, ``fill``, slicing that
keeps two dimensions, ``T``, ``reshape``, ``take``) and neon's op-tree operators.

Op-trees are evaluated eagerly: ``be.exp(x) * 2 + y`` is a new :class:`Tensor` holding the
result, and ``t[:] = <that>`` copies it into ``t``; the numbers are those neon's CPU backend
computes (element-wise math in the tensors' dtype, reductions that keep their axis).

Writing through a tensor (``set``, ``fill``, ``t[...] = v``, ``out=`` of a backend operation)
writes into the torch storage it wraps, so a ``layer.W`` view changes the layer's parameter.
Writes happen outside autograd.

>>> import torch
>>> t = Tensor(torch.zeros(3, 2))
>>> t[1, 0] = 5
>>> t.get().tolist()
[[0.0, 0.0], [5.0, 0.0], [0.0, 0.0]]
>>> (t * 2 + 1)[1].get().tolist()          # an int index keeps the axis, as neon does
[[11.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import NeonTorchError, ShapeMismatchError

if TYPE_CHECKING:  # the class body has a ``torch`` property that hides the module
    from torch import Tensor as _TorchTensor

__all__ = [
    "HostArray",
    "Tensor",
    "TensorTypeError",
    "as_torch",
    "numpy_dtype",
    "torch_dtype",
]


class HostArray(np.ndarray):
    """The numpy array :meth:`Tensor.get` returns: a plain ``ndarray`` except that ``int()``
    and ``float()`` of an array holding one element give that element, whatever its number
    of dimensions, as they did in the numpy 1.x that neon's scripts were written for (numpy
    2.4 refuses them; neon's demos call ``int()`` on ``(1, 1)`` slices of ``get()``)."""

    def __int__(self) -> int:
        if self.size == 1 and self.ndim:
            return int(self.reshape(()).item())
        return super().__int__()

    def __float__(self) -> float:
        if self.size == 1 and self.ndim:
            return float(self.reshape(()).item())
        return super().__float__()


_NP_TO_TORCH: dict[np.dtype, torch.dtype] = {
    np.dtype(np.float16): torch.float16,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.uint8): torch.uint8,
    np.dtype(np.int8): torch.int8,
    np.dtype(np.int16): torch.int16,
    np.dtype(np.uint16): torch.uint16,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.uint32): torch.uint32,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.bool_): torch.bool,
}
_TORCH_TO_NP: dict[torch.dtype, np.dtype] = {v: k for k, v in _NP_TO_TORCH.items()}
_TORCH_TO_NP[torch.bfloat16] = np.dtype(np.float32)  # numpy has no bfloat16


class TensorTypeError(NeonTorchError, TypeError):
    """A value that cannot take part in a backend tensor operation."""


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype of a numpy dtype (or torch dtype); raises for unsupported ones."""
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _NP_TO_TORCH[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise TensorTypeError(
            f"dtype {dtype!r} has no backend tensor type; use one of "
            f"{sorted(str(d) for d in _NP_TO_TORCH)}."
        ) from None


def numpy_dtype(dtype: torch.dtype) -> np.dtype:
    """The numpy dtype neon reports for a torch dtype."""
    return _TORCH_TO_NP[dtype]


def as_torch(value: Any, like: torch.Tensor | None = None) -> Any:
    """A torch tensor (or Python scalar) for an operand of a backend operation.

    :class:`Tensor` gives its storage, numpy arrays are copied to ``like``'s device, numbers
    stay numbers (torch broadcasts them without a copy).
    """
    if isinstance(value, Tensor):
        return value._tensor
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        device = like.device if like is not None else None
        return torch.as_tensor(np.asarray(value), device=device)
    raise TensorTypeError(
        f"A backend tensor operation received {type(value).__name__}; expected a backend "
        "Tensor, a torch tensor, a numpy array or a number."
    )


def _neon_key(key: Any) -> Any:
    """neon's indexing: an int index selects a length-1 range, so 2-D tensors stay 2-D."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    for k in items:
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            k = int(k)
            out.append(slice(k, k + 1) if k != -1 else slice(-1, None))
        else:
            out.append(as_torch(k) if isinstance(k, (Tensor, np.ndarray)) else k)
    return tuple(out)


class Tensor:
    """A neon backend tensor: one torch tensor plus neon's API.

    Attributes:
        name: optional label (neon's ``name``).
        persist_values: kept for neon's signature; values always persist.

    ``torch`` (also neon's private ``_tensor``) is the wrapped ``torch.Tensor``: it shares
    storage with this object, so in-place changes show on both sides. Shapes follow neon: at
    least two dimensions (a 1-D allocation ``(n,)`` is ``(n, 1)``), data buffers are
    ``(features, batch)``.
    """

    __array_priority__ = 100.0  # numpy operands defer to Tensor's operators

    def __init__(
        self, data: torch.Tensor, name: str | None = None, persist_values: bool = True
    ) -> None:
        while data.dim() < 2:
            data = data.reshape((*data.shape, 1))
        self._tensor = data
        self.name = name
        self.persist_values = persist_values
        #: ``(indices, axis)`` when made by ``be.onehot`` without ``out`` (resized on assignment)
        self.onehot_of: tuple[torch.Tensor, int] | None = None

    # -- the torch side ------------------------------------------------------------------
    @property
    def torch(self) -> torch.Tensor:
        """The wrapped ``torch.Tensor`` (same storage; writes show on both sides)."""
        return self._tensor

    # -- neon's attributes ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """neon shape (at least two dimensions)."""
        return tuple(self._tensor.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return self._tensor.numel()

    @property
    def dtype(self) -> np.dtype:
        """numpy dtype of the elements."""
        return numpy_dtype(self._tensor.dtype)

    @property
    def is_contiguous(self) -> bool:
        """True when the elements are in C order without gaps."""
        return self._tensor.is_contiguous()

    def __len__(self) -> int:
        return self._tensor.shape[0]

    def __repr__(self) -> str:
        return f"Tensor(name:{self.name} shape:{self.shape} dtype:{self.dtype})"

    __str__ = __repr__
    __hash__ = object.__hash__  # comparisons build op-trees (as neon), identity hashes

    # -- reading and writing -------------------------------------------------------------
    def get(self) -> np.ndarray:
        """A numpy copy of the values, in neon's shape (a :class:`HostArray`)."""
        t = self._tensor.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy().copy().view(HostArray)

    def asnumpyarray(self) -> np.ndarray:
        """neon's deprecated alias of :meth:`get`."""
        return self.get()

    def set(self, value: Any) -> Tensor:
        """Copy ``value`` in: an array of the same number of elements (reshaped to this
        tensor's shape), a Tensor, or a number broadcast to every element."""
        if isinstance(value, (np.ndarray, torch.Tensor, Tensor, list)):
            src = as_torch(np.asarray(value) if isinstance(value, list) else value)
            if src.numel() != self.size:
                raise ShapeMismatchError(
                    f"Tensor.set received {src.numel()} values (shape {tuple(src.shape)}) for "
                    f"a tensor of shape {self.shape}; pass an array with {self.size} elements."
                )
            if tuple(src.shape) != self.shape:
                src = src.reshape(self.shape)
            value = src
        _write(self._tensor, value)
        return self

    def fill(self, value: float) -> Tensor:
        """Set every element to ``value``."""
        with torch.no_grad():
            self._tensor.fill_(value)
        return self

    def copy(self, a: Any) -> Tensor:
        """Copy the values of ``a`` (a Tensor or op-tree result) into this tensor."""
        self[:] = a
        return self

    copy_from = copy

    def __getitem__(self, key: Any) -> Tensor:
        if isinstance(key, slice) and key == slice(None):
            return self
        view = self._tensor[_neon_key(key)]
        if view.dim() > 2:  # neon drops length-1 axes beyond two dimensions
            dims = [d for d in view.shape if d != 1]
            view = view.reshape(dims if len(dims) >= 2 else (*dims, 1, 1)[:2])
        return Tensor(view)

    def __setitem__(self, key: Any, value: Any) -> None:
        whole = isinstance(key, slice) and key == slice(None)
        target = self._tensor if whole else self._tensor[_neon_key(key)]
        spec = getattr(value, "onehot_of", None)
        if spec is not None and tuple(value.shape) != tuple(target.shape):
            # neon's be.onehot(...) without ``out`` is sized by the array it is assigned to
            idx, axis = spec
            value = one_hot(tuple(target.shape), idx, axis, dtype=target.dtype)
        src = as_torch(value, self._tensor)
        if isinstance(src, torch.Tensor) and src.shape != target.shape:
            if src.numel() == target.numel():  # same elements, another shape: neon reshapes
                src = src.reshape(target.shape)
        _write(target, src)

    # -- views ---------------------------------------------------------------------------
    @property
    def T(self) -> Tensor:
        """Transposed view (2-D), or the last two axes swapped (3-D, batched dot)."""
        t = self._tensor
        return Tensor(t.t() if t.dim() <= 2 else t.transpose(1, 2))

    def transpose(self, out: Tensor | None = None) -> Tensor:
        """The transpose; copied into ``out`` when given."""
        if out is None:
            return self.T
        out[:] = self.T
        return out

    def reshape(self, *shape: Any) -> Tensor:
        """A reshaped view (a copy only when the elements are not contiguous)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if tuple(shape) == self.shape:
            return self
        try:
            return Tensor(self._tensor.reshape(shape))
        except RuntimeError:
            raise ShapeMismatchError(
                f"Cannot reshape a tensor of shape {self.shape} ({self.size} elements) to "
                f"{tuple(shape)}; the number of elements must stay the same."
            ) from None

    def share(self, shape: Any, dtype: Any = None, name: str | None = None) -> Tensor:
        """A tensor of ``shape`` over the first elements of this one's storage."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        flat = self._tensor.reshape(-1)
        if dtype is not None and torch_dtype(dtype) != flat.dtype:
            flat = flat.view(torch_dtype(dtype))
        return Tensor(flat[: int(np.prod(shape))].reshape(shape), name=name)

    def take(self, indices: Any, axis: int | None = None) -> Tensor:
        """Elements at ``indices`` along ``axis`` (a copy; ``axis=None`` reads the flattened
        tensor), keeping two dimensions."""
        if isinstance(indices, (list, tuple)):
            indices = np.asarray(indices)
        idx = torch.as_tensor(as_torch(indices), device=self._tensor.device).reshape(-1).long()
        if axis is None:
            return Tensor(self._tensor.reshape(-1)[idx])
        return Tensor(self._tensor.index_select(axis, idx))

    def dimension_reorder(self, new_order: Any) -> Tensor:
        """A copy with the axes permuted to ``new_order``."""
        return Tensor(self._tensor.permute(*new_order).contiguous())

    # -- op-tree operators (evaluated eagerly) -------------------------------------------
    def _binary(self, other: Any, fn: Callable[[Any, Any], _TorchTensor], swap: bool) -> Tensor:
        a, b = self._tensor, as_torch(other, self._tensor)
        return Tensor(fn(b, a) if swap else fn(a, b))

    def __add__(self, o: Any) -> Tensor:
        return self._binary(o, torch.add, False)

    def __radd__(self, o: Any) -> Tensor:
        return self._binary(o, torch.add, True)

    def __sub__(self, o: Any) -> Tensor:
        return self._binary(o, torch.sub, False)

    def __rsub__(self, o: Any) -> Tensor:
        return self._binary(o, _rsub, False)

    def __mul__(self, o: Any) -> Tensor:
        return self._binary(o, torch.mul, False)

    def __rmul__(self, o: Any) -> Tensor:
        return self._binary(o, torch.mul, True)

    def __truediv__(self, o: Any) -> Tensor:
        return self._binary(o, torch.true_divide, False)

    def __rtruediv__(self, o: Any) -> Tensor:
        return self._binary(o, _rdiv, False)

    def __pow__(self, o: Any) -> Tensor:
        return self._binary(o, torch.pow, False)

    def __rpow__(self, o: Any) -> Tensor:
        return self._binary(o, _rpow, False)

    def __neg__(self) -> Tensor:
        return Tensor(-self._tensor)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return Tensor(self._tensor.abs())

    def _compare(self, o: Any, fn: Callable[[Any, Any], _TorchTensor]) -> Tensor:
        a = self._tensor
        out = fn(a, as_torch(o, a))
        return Tensor(out.to(a.dtype if a.is_floating_point() else torch.float32))

    def __eq__(self, o: object) -> Tensor:  # type: ignore[override]  # elementwise, as neon
        return self._compare(o, torch.eq)

    def __ne__(self, o: object) -> Tensor:  # type: ignore[override]  # elementwise, as neon
        return self._compare(o, torch.ne)

    def __lt__(self, o: Any) -> Tensor:
        return self._compare(o, torch.lt)

    def __le__(self, o: Any) -> Tensor:
        return self._compare(o, torch.le)

    def __gt__(self, o: Any) -> Tensor:
        return self._compare(o, torch.gt)

    def __ge__(self, o: Any) -> Tensor:
        return self._compare(o, torch.ge)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self.get()
        return values if dtype is None else values.astype(dtype)


def one_hot(
    shape: tuple[int, ...], idx: torch.Tensor, axis: int, dtype: torch.dtype
) -> torch.Tensor:
    """A 2-D ``shape`` array of zeros with a one at ``[idx[j], j]`` (``axis=0``) or
    ``[j, idx[j]]`` (``axis=1``) for every ``j``."""
    hot = torch.zeros(shape, dtype=dtype, device=idx.device)
    cols = torch.arange(idx.numel(), device=idx.device)
    if axis == 0:
        hot[idx, cols] = 1
    else:
        hot[cols, idx] = 1
    return hot


def _write(target: torch.Tensor, value: Any) -> None:
    """Copy a tensor (broadcast) or a number into ``target``, outside autograd."""
    with torch.no_grad():
        if isinstance(value, torch.Tensor):
            target.copy_(value)
        else:
            target.fill_(value)


def _rsub(a: torch.Tensor, b: Any) -> torch.Tensor:
    return torch.sub(b, a) if isinstance(b, torch.Tensor) else b - a


def _rdiv(a: torch.Tensor, b: Any) -> torch.Tensor:
    return torch.true_divide(b, a) if isinstance(b, torch.Tensor) else b / a


def _rpow(a: torch.Tensor, b: Any) -> torch.Tensor:
    return torch.pow(b, a)
