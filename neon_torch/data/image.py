"""neon's image datasets ``MNIST`` and ``CIFAR10``, read from neon's on-disk files.

* MNIST: ``mnist.pkl.gz``, a gzipped pickle ``((X_train, y_train), (X_test, y_test))`` with
  uint8 images ``(n, 28, 28)`` and integer labels.
* CIFAR10: ``cifar-10-python.tar.gz`` extracted to ``cifar-10-batches-py/`` (``data_batch_1``
  ... ``data_batch_5`` and ``test_batch``: pickled dicts with ``data`` uint8 ``(n, 3072)`` in
  C, H, W order and ``labels``).

Pickles are read with neon_torch's restricted unpickler (numpy arrays and plain containers
only). Iterators are ``ArrayIterator``s named ``train`` / ``valid``, ``nclass=10``.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from typing import Any

import numpy as np

from ..errors import NeonTorchError
from ..registry import neon_type
from ..serialization.legacy_pickle import load_pickle
from .dataiterator import ArrayIterator
from .datasets import Dataset, DatasetFormatError

__all__ = ["CIFAR10", "MNIST"]


def _unpickle(path: str, opener: Any = open) -> Any:
    try:
        with opener(path, "rb") as f:
            return load_pickle(f, path)
    except (OSError, NeonTorchError) as err:
        raise DatasetFormatError(
            f"{path}: not a dataset pickle in neon's format ({err})."
        ) from None


@neon_type("neon.data.image.MNIST", "neon.data.MNIST")
class MNIST(Dataset):
    """neon's MNIST: ``load_data()`` -> ``(X_train, y_train), (X_test, y_test), 10``.

    X is flattened to ``(n, size*size)`` float32, divided by 255 with ``normalize`` (and
    mapped to ``[-1, 1]`` with ``sym_range``); ``size > 28`` zero-pads, ``size < 28`` crops the
    top-left corner. ``shuffle=True`` seeds numpy's global RNG with 0 and shuffles X_train only
    (the labels are not shuffled: neon's bug, kept). ``lshape=(1, size, size)``.
    """

    def __init__(
        self,
        path: str = ".",
        subset_pct: float = 100,
        normalize: bool = True,
        sym_range: bool = False,
        size: int = 28,
        shuffle: bool = False,
    ) -> None:
        super().__init__(
            "mnist.pkl.gz", "https://s3.amazonaws.com/img-datasets", 15296311, path, subset_pct
        )
        self.normalize, self.sym_range, self.size, self.shuffle = (
            normalize,
            sym_range,
            size,
            shuffle,
        )

    def _images(self, x: Any, path: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 2 and x.shape[1] == 784:
            x = x.reshape(-1, 28, 28)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DatasetFormatError(
                f"{path}: expected images of shape (n, 28, 28), got {x.shape}."
            )
        s = self.size
        if s > 28:
            out = np.zeros((len(x), s, s), dtype=x.dtype)
            out[:, :28, :28] = x
            x = out
        else:
            x = x[:, :s, :s]
        x = x.reshape(len(x), s * s).astype(np.float32)
        if self.normalize:
            x /= 255.0
            if self.sym_range:
                x = x * 2.0 - 1.0
        return x

    def load_data(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
        """The arrays described in the class docstring."""
        path = self.filepath()
        data = _unpickle(path, gzip.open)
        try:
            (x_train, y_train), (x_test, y_test) = data[:2]
        except (TypeError, ValueError):
            raise DatasetFormatError(
                f"{path}: expected ((X_train, y_train), (X_test, y_test)), got {type(data)}."
            ) from None
        x_train, x_test = self._images(x_train, path), self._images(x_test, path)
        if self.shuffle:
            np.random.seed(0)
            np.random.shuffle(x_train)
        return (x_train, np.asarray(y_train)), (x_test, np.asarray(y_test)), 10

    def gen_iterators(self) -> dict[str, Any]:
        (x_train, y_train), (x_test, y_test), nclass = self.load_data()
        lshape = (1, self.size, self.size)
        return {
            "train": ArrayIterator(x_train, y_train, nclass=nclass, lshape=lshape, name="train"),
            "valid": ArrayIterator(x_test, y_test, nclass=nclass, lshape=lshape, name="valid"),
        }


def global_contrast_normalize(
    x: np.ndarray, scale: float = 1.0, min_divisor: float = 1e-8
) -> np.ndarray:
    """Per-row mean removal and scaling to norm ``scale`` (neon's ``global_contrast_normalize``)."""
    x = x - x.mean(axis=1)[:, None]
    norms = np.sqrt((x**2).sum(axis=1)) / scale
    norms[norms < min_divisor] = 1.0
    return x / norms[:, None]


def zca_transform(train: np.ndarray, filter_bias: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """neon's ZCA: the feature means and ``E diag(D^-1/2) E^T`` of ``cov + filter_bias * I``;
    whitened data is ``(x - mean) @ w``."""
    mean = train.mean(axis=0)
    eigval, eigvec = np.linalg.eigh(np.cov(train.T) + filter_bias * np.eye(train.shape[1]))
    return mean, (eigvec * eigval**-0.5) @ eigvec.T


@neon_type("neon.data.image.CIFAR10", "neon.data.CIFAR10")
class CIFAR10(Dataset):
    """neon's CIFAR10: ``load_data()`` -> ``(X_train, y_train), (X_test, y_test), nclass``.

    X ``(n, 3072)`` float32 in C, H, W order, y ``(n, 1)``, nclass 10; in neon's order
    ``contrast_normalize`` applies global contrast normalisation (scale 55), ``normalize``
    divides by 255 and ``whiten`` applies neon's ZCA whitening (computed on the training set,
    cached next to the data). ``pad_classes`` gives the iterators 16 classes.
    ``lshape=(3, 32, 32)``.
    """

    def __init__(
        self,
        path: str = ".",
        subset_pct: float = 100,
        normalize: bool = True,
        contrast_normalize: bool = False,
        whiten: bool = False,
        pad_classes: bool = False,
    ) -> None:
        super().__init__(
            "cifar-10-python.tar.gz", "http://www.cs.toronto.edu/~kriz", 170498071, path, subset_pct
        )
        self.normalize, self.contrast_normalize = normalize, contrast_normalize
        self.whiten = whiten
        self.pad_classes = pad_classes

    def _batches_dir(self) -> str:
        batch_dir = os.path.join(self.path, "cifar-10-batches-py")
        if not os.path.isdir(batch_dir):
            archive = self.filepath()
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(self.path, filter="data")
            except (tarfile.TarError, OSError) as err:
                raise DatasetFormatError(f"{archive}: not a readable tar.gz ({err}).") from None
        return batch_dir

    @staticmethod
    def _batch(path: str) -> tuple[np.ndarray, np.ndarray]:
        batch = _unpickle(path)
        if not isinstance(batch, dict):
            raise DatasetFormatError(f"{path}: expected a dict with data and labels.")
        batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
        if "data" not in batch or "labels" not in batch:
            raise DatasetFormatError(f"{path}: expected keys 'data' and 'labels'.")
        x = np.asarray(batch["data"])
        if x.ndim != 2 or x.shape[1] != 3072:
            raise DatasetFormatError(f"{path}: data must be (n, 3072), got {x.shape}.")
        return x, np.asarray(batch["labels"]).reshape(-1, 1)

    def load_data(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
        """The arrays described in the class docstring."""
        batch_dir = self._batches_dir()
        parts = [self._batch(os.path.join(batch_dir, f"data_batch_{i}")) for i in range(1, 6)]
        x_train = np.concatenate([p[0] for p in parts])
        y_train = np.concatenate([p[1] for p in parts])
        x_test, y_test = self._batch(os.path.join(batch_dir, "test_batch"))
        out = []
        for x in (x_train, x_test):
            x = x.astype(np.float64 if self.whiten else np.float32)
            if self.contrast_normalize:
                x = global_contrast_normalize(x, scale=55.0)
            if self.normalize:
                x = x / 255.0
            out.append(x)
        if self.whiten:
            mean, w = self._zca(out[0])
            out = [(x - mean) @ w for x in out]
        return (out[0].astype(np.float32), y_train), (out[1].astype(np.float32), y_test), 10

    def _zca(self, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """neon's ZCA transform (``filter_bias`` 0.1): the mean and ``E diag(D^-1/2) E^T`` of
        the training covariance ``+ 0.1 I``; reused from neon's ``cifar-10-zca-cache.pkl`` (read
        with the restricted unpickler) or neon_torch's ``cifar-10-zca-cache.npz`` when present."""
        legacy = os.path.join(self.path, "cifar-10-zca-cache.pkl")
        cache = os.path.join(self.path, "cifar-10-zca-cache.npz")
        if os.path.exists(legacy):
            mean, w = _unpickle(legacy)
            return np.asarray(mean), np.asarray(w)
        if os.path.exists(cache):
            with np.load(cache) as f:
                return f["mean"], f["w"]
        mean, w = zca_transform(train)
        np.savez(cache, mean=mean, w=w)
        return mean, w

    def gen_iterators(self) -> dict[str, Any]:
        (x_train, y_train), (x_test, y_test), nclass = self.load_data()
        nclass = 16 if self.pad_classes else nclass
        lshape = (3, 32, 32)
        return {
            "train": ArrayIterator(x_train, y_train, nclass=nclass, lshape=lshape, name="train"),
            "valid": ArrayIterator(x_test, y_test, nclass=nclass, lshape=lshape, name="valid"),
        }
