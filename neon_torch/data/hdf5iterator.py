"""neon's HDF5 iterators: minibatches from a file with ``input`` / ``output`` datasets.

File layout (neon's): dataset ``input`` ``(ndata, F)`` (float or uint8) with attribute
``lshape``; optional ``mean`` with F entries (per feature) or C = ``lshape[0]`` entries (per
channel), subtracted after casting to float; optional ``output`` ``(ndata, M)`` targets used
as they are (``HDF5IteratorOneHot``: integer labels with attribute ``nclass``, one-hot
encoded). Without ``output`` the targets are None (``HDF5IteratorAutoencoder``: the input).

Minibatch order, wrap-around, ``nbatches`` and ``reset()`` are ``ArrayIterator``'s; the file is
read once at construction (neon read slices lazily) and the minibatches are batch-first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..registry import neon_type
from .dataiterator import ArrayIterator, NervanaDataIterator
from .datasets import DatasetFormatError

__all__ = ["HDF5Iterator", "HDF5IteratorAutoencoder", "HDF5IteratorOneHot"]


def _read(path: str) -> tuple[np.ndarray, tuple[int, ...], Any, Any]:
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise DatasetFormatError(f"{path}: not an HDF5 file ({err}).") from None
    with f:
        if "input" not in f:
            raise DatasetFormatError(
                f"{path}: no 'input' dataset; neon's HDF5 files hold input (ndata, F) with "
                "attribute lshape, and optionally output and mean."
            )
        x = np.asarray(f["input"])
        if x.ndim != 2:
            raise DatasetFormatError(f"{path}: input must be (ndata, F), got {x.shape}.")
        lshape = tuple(int(v) for v in f["input"].attrs.get("lshape", (x.shape[1],)))
        mean = np.asarray(f["mean"]) if "mean" in f else None
        out = None
        if "output" in f:
            out = (np.asarray(f["output"]), f["output"].attrs.get("nclass"))
    x = x.astype(np.float32)
    if mean is not None:
        mean = mean.reshape(-1).astype(np.float32)
        if mean.size == x.shape[1]:
            x -= mean
        elif mean.size == lshape[0]:
            x = (x.reshape(len(x), lshape[0], -1) - mean[None, :, None]).reshape(len(x), -1)
        else:
            raise DatasetFormatError(
                f"{path}: mean has {mean.size} entries; expected {x.shape[1]} (per feature) or "
                f"{lshape[0]} (per channel)."
            )
    return x, lshape, out, path


@neon_type("neon.data.hdf5iterator.HDF5Iterator", "neon.data.HDF5Iterator")
class HDF5Iterator(NervanaDataIterator):
    """``HDF5Iterator(hdf_filename, name=None)``: ``output`` targets as stored (see module)."""

    def __init__(self, hdf_filename: str, name: str | None = None) -> None:
        super().__init__(name)
        self.hdf_filename = hdf_filename
        x, lshape, out, path = _read(hdf_filename)
        self.lshape = lshape
        self._inner = self._iterator(x, lshape, out, path)

    def _iterator(self, x: np.ndarray, lshape: Any, out: Any, path: str) -> ArrayIterator:
        y = None if out is None else out[0].reshape(len(x), -1).astype(np.float32)
        return ArrayIterator(x, y, lshape=lshape, make_onehot=False)

    @property
    def ndata(self) -> int:
        return self._inner.ndata

    @property
    def shape(self) -> Any:
        return self._inner.shape

    @property  # type: ignore[misc]  # computed here, never assigned
    def nbatches(self) -> int:
        return self._inner.nbatches

    def reset(self) -> None:
        self._inner.reset()

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self._inner)


@neon_type("neon.data.hdf5iterator.HDF5IteratorOneHot", "neon.data.HDF5IteratorOneHot")
class HDF5IteratorOneHot(HDF5Iterator):
    """``output`` holds integer labels and has attribute ``nclass``: one-hot targets."""

    def _iterator(self, x: np.ndarray, lshape: Any, out: Any, path: str) -> ArrayIterator:
        if out is None or out[1] is None:
            raise DatasetFormatError(
                f"{path}: HDF5IteratorOneHot needs an 'output' dataset of labels with an "
                "'nclass' attribute."
            )
        labels = out[0].reshape(-1).astype(np.int64)
        return ArrayIterator(x, labels, nclass=int(out[1]), lshape=lshape)


@neon_type("neon.data.hdf5iterator.HDF5IteratorAutoencoder", "neon.data.HDF5IteratorAutoencoder")
class HDF5IteratorAutoencoder(HDF5Iterator):
    """Yields ``(x, x)``: the input is the target."""

    def _iterator(self, x: np.ndarray, lshape: Any, out: Any, path: str) -> ArrayIterator:
        return ArrayIterator(x, None, lshape=lshape)
