"""In-memory data iterators: ``NervanaDataIterator`` and ``ArrayIterator``."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from .. import layout
from ..backends.backend import NervanaObject, current_backend
from ..distributed.state import batch_rows
from ..errors import NeonTorchError, ShapeMismatchError, UnsupportedNeonFeature
from ..registry import neon_type

__all__ = ["ArrayIterator", "LabelError", "NervanaDataIterator"]


class LabelError(NeonTorchError, ValueError):
    """Labels that are not integers in ``[0, nclass)``."""


class NervanaDataIterator(NervanaObject):
    """Base of neon data iterators: ``for x, t in it`` plus ``nbatches``, ``ndata``, ``shape``
    and ``reset()``.

    Subclasses written for neon set ``self.ndata``, ``self.nbatches`` and ``self.shape`` in
    their ``__init__`` (plain attributes here, as in neon) or override them as properties.

    ``shards_across_ranks``: in a data-parallel job each rank reads only its slice of every
    minibatch (``ArrayIterator``); iterators that cannot do so are refused there.
    """

    shards_across_ranks: ClassVar[bool] = False

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)

    def reset(self) -> None:
        """Restart from the beginning of the data."""

    @property
    def nbatches(self) -> int:
        """Minibatches per epoch; subclasses compute it or assign it (neon's iterators set
        ``self.nbatches`` in their constructor)."""
        value = self.__dict__.get("_nbatches")
        if value is None:
            raise UnsupportedNeonFeature(
                f"{type(self).__name__} sets no nbatches; assign self.nbatches in its "
                "constructor or define an nbatches property."
            )
        return value

    @nbatches.setter
    def nbatches(self, value: int) -> None:
        self._nbatches = int(value)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError


@neon_type("neon.data.dataiterator.ArrayIterator", "neon.data.ArrayIterator")
class ArrayIterator(NervanaDataIterator):
    """Minibatches of in-memory arrays, with neon's order and wrap-around.

    neon semantics:

    * ``X`` is ``(ndata, F)`` or a list of such arrays (one per input stream; a list of one
      array is a single stream); ``y`` holds integer labels turned into one-hot targets
      (``make_onehot=True``, needs ``nclass``), or regression targets ``(ndata, K)``
      (``make_onehot=False``), or is None, in which case the targets are the inputs
      (autoencoders). Labels given as an ``(ndata, K)`` array are flattened and the first
      ``ndata`` of them used, without complaint, as neon does;
    * ``lshape`` is the per-sample shape (e.g. ``(C, H, W)``) and becomes ``shape``, which the
      first layer is configured from (with a list ``X``, every stream's shape); without it
      ``shape`` is the int ``F``; a 2-tuple ``(F, T)`` is a sequence, each row read as F
      features x T steps;
    * no shuffling; minibatches of ``be.bsz`` samples; a short last batch is completed with
      samples from the start of the data, and the next epoch then starts after those samples
      (``start``), so ``nbatches = ceil((ndata - start) / bsz)`` can change between epochs;
      ``reset()`` goes back to ``start = 0`` (``Model.eval`` and ``get_outputs`` call it,
      ``fit`` does not);
    * a stateful recurrent layer reading these minibatches directly zeroes its state when it
      is switched to another iterator (each input tensor carries ``neon_source``).

    Data parallel (``torch.distributed``, see ``docs/distributed.md``): ``be.bsz`` stays the
    global minibatch size and every rank builds the same iterator; rank ``r`` of ``W`` reads rows
    ``[r·bsz/W, (r+1)·bsz/W)`` of each minibatch, so the minibatches, their wrap-around,
    ``start``, ``nbatches`` and ``ndata`` are those of one process (``bsz`` must divide by ``W``).

    neon_torch: the arrays are copied to the backend's device once, at construction (and again
    only if the backend's device changes); minibatches are batch-first tensors ``(bsz, *shape)``
    sliced there, and one-hot targets ``(bsz, nclass)``. ``Xdev`` (a tuple, one per stream)
    and ``ydev`` are the whole data on the device in neon's layout: ``(ndata, F)`` inputs,
    ``(ndata, 1)`` int32 labels (neon's ``y.reshape(-1, 1)``) or ``(ndata, K)`` targets.
    """

    def __init__(
        self,
        X: Any,
        y: Any = None,
        nclass: int | None = None,
        lshape: Sequence[int] | None = None,
        make_onehot: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        arrays = [np.asarray(a) for a in (X if isinstance(X, (list, tuple)) else [X])]
        self._multi = len(arrays) > 1
        self.ndata = len(arrays[0])
        for i, a in enumerate(arrays):
            if a.ndim < 2:
                raise ShapeMismatchError(
                    f"ArrayIterator: X{f'[{i}]' if self._multi else ''} must be 2-D "
                    f"(ndata, nfeatures), got shape {a.shape}."
                )
            if len(a) != self.ndata:
                raise ShapeMismatchError(
                    f"ArrayIterator: every input array needs {self.ndata} rows; "
                    f"X[{i}] has {len(a)}."
                )
        self.nclass = nclass
        self.make_onehot = make_onehot
        self.start = 0
        self.lshape = tuple(lshape) if lshape is not None else None
        if self.lshape is not None:
            for i, a in enumerate(arrays):
                if int(np.prod(self.lshape)) != a.reshape(self.ndata, -1).shape[1]:
                    raise ShapeMismatchError(
                        f"ArrayIterator: lshape {self.lshape} has {int(np.prod(self.lshape))} "
                        f"features but X{f'[{i}]' if self._multi else ''} has "
                        f"{a.reshape(self.ndata, -1).shape[1]}."
                    )
        shapes = [self.lshape or int(a.reshape(self.ndata, -1).shape[1]) for a in arrays]
        self.shape: Any = shapes if self._multi else shapes[0]
        # rows are samples flattened in neon's order; sequences (F, T) become (T, F)
        self._host_x = [
            np.ascontiguousarray(
                layout.from_neon_sample_order(a.reshape((self.ndata, *_dims(s))), s)
            )
            for a, s in zip(arrays, shapes, strict=True)
        ]
        self._host_y = self._targets(y)
        self._neon_x = [a.reshape(self.ndata, -1) for a in arrays]  # views of the caller's X
        self._neon_y = None if y is None else np.asarray(y)
        self._device: torch.device | None = None
        self._checksum: int | None = None
        self._stage()

    shards_across_ranks: ClassVar[bool] = True

    def checksum(self) -> int:
        """CRC-32 of the inputs and targets (computed once); data-parallel jobs compare it
        across ranks."""
        if self._checksum is None:
            crc = 0
            for a in [*self._host_x, *([] if self._host_y is None else [self._host_y])]:
                crc = zlib.crc32(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data, crc)
            self._checksum = crc
        return self._checksum

    def _targets(self, y: Any) -> np.ndarray | None:
        if y is None:
            return None
        y = np.asarray(y)
        if len(y) != self.ndata:
            raise ShapeMismatchError(
                f"ArrayIterator: X has {self.ndata} samples but y has {len(y)}; they must match."
            )
        if not self.make_onehot:
            if y.ndim != 2:
                raise ShapeMismatchError(
                    f"ArrayIterator(make_onehot=False): y must be 2-D (ndata, K), got {y.shape}."
                )
            return y
        if self.nclass is None:
            raise LabelError("ArrayIterator: nclass is required when make_onehot=True.")
        labels = y.reshape(-1)  # neon reads y as a column; (ndata, K) labels pass unchecked
        as_int = labels.astype(np.int64)
        bad = np.flatnonzero((as_int != labels) | (as_int < 0) | (as_int >= self.nclass))
        if bad.size:
            i = int(bad[0])
            raise LabelError(
                f"ArrayIterator: label {labels[i]!r} at index {i} is not an integer in "
                f"[0, {self.nclass - 1}] (nclass={self.nclass}); {bad.size} label(s) are out of "
                "range. Fix the labels or pass the right nclass."
            )
        return as_int[: self.ndata]

    def _stage(self) -> None:
        """Copy the data to the backend's device (once per device)."""
        be = current_backend()
        if self._device == be.device:
            return
        self._x = [torch.as_tensor(a, dtype=be.torch_dtype).to(be.device) for a in self._host_x]
        if self._host_y is None:
            self._y = None
        elif self.make_onehot:
            labels = torch.as_tensor(self._host_y, device=be.device)
            depth: int = self.nclass  # type: ignore[assignment]  # None is refused in _targets
            self._y = torch.nn.functional.one_hot(labels, depth).to(be.torch_dtype)
        else:
            self._y = torch.as_tensor(self._host_y, dtype=be.torch_dtype).to(be.device)
        self._device = be.device

    @property
    def Xdev(self) -> tuple[Tensor, ...]:
        """Every input stream on the device in neon's layout ``(ndata, F)``."""
        be = current_backend()
        return tuple(
            torch.as_tensor(a, dtype=be.torch_dtype, device=be.device) for a in self._neon_x
        )

    @property
    def ydev(self) -> Tensor | None:
        """The targets on the device as neon holds them: labels as an int32 column
        ``y.reshape(-1, 1)`` (``make_onehot=True``), else ``(ndata, K)``; None without y."""
        if self._neon_y is None:
            return None
        be = current_backend()
        if self.make_onehot:
            return torch.as_tensor(self._neon_y.reshape(-1, 1).astype(np.int32), device=be.device)
        return torch.as_tensor(self._neon_y, dtype=be.torch_dtype, device=be.device)

    @property  # type: ignore[misc]  # computed here, never assigned
    def nbatches(self) -> int:
        """``ceil((ndata - start) / bsz)``: minibatches left in the current epoch."""
        bsz = self._bsz()
        return -((self.start - self.ndata) // bsz)

    def _bsz(self) -> int:
        bsz = current_backend().bsz
        if bsz <= 0:
            raise ValueError("be.bsz is 0; pass batch_size to gen_backend (or set be.bsz).")
        if self.ndata < bsz:
            raise ShapeMismatchError(
                f"ArrayIterator has {self.ndata} samples, fewer than one minibatch "
                f"(be.bsz={bsz}); use a smaller batch size."
            )
        return bsz

    def reset(self) -> None:
        """Start the next pass at sample 0."""
        self.start = 0

    def _take(self, data: Tensor, i1: int, bsz: int) -> Tensor:
        i1 %= self.ndata  # a rank's slice may start past the end (wrap-around)
        i2 = i1 + bsz
        if i2 <= self.ndata:
            return data[i1:i2]
        return torch.cat([data[i1:], data[: i2 - self.ndata]])

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        self._stage()
        bsz = self._bsz()
        first, rows = batch_rows(bsz)  # this rank's slice of every minibatch (all of it alone)
        for i1 in range(self.start, self.ndata, bsz):
            xs = [self._take(x, i1 + first, rows) for x in self._x]
            for v in xs:  # a stateful first recurrent layer resets on a new source, as neon
                v.neon_source = self  # type: ignore[attr-defined]  # marks the torch tensor
            x: Any = xs if self._multi else xs[0]
            t = x if self._y is None else self._take(self._y, i1 + first, rows)
            if i1 + bsz > self.ndata:
                self.start = i1 + bsz - self.ndata
            yield x, t


def _dims(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, int) else tuple(shape)
