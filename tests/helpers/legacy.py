"""Helpers for the legacy-script tests: logger isolation, small models and neon-format files."""

from __future__ import annotations

import gzip
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neon_torch.data import ArrayIterator
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine
from neon_torch.models import Model
from neon_torch.transforms import Rectlin, Softmax


@pytest.fixture
def isolated_loggers() -> Iterator[None]:
    """NeonArgparser configures the ``neon``/``neon_torch`` loggers; undo it after the test."""
    saved = {}
    for name in ("neon", "neon_torch"):
        log = logging.getLogger(name)
        saved[name] = (list(log.handlers), log.level, log.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        log = logging.getLogger(name)
        for h in log.handlers:
            if h not in handlers:
                h.close()
        log.handlers[:] = handlers
        log.setLevel(level)
        log.propagate = propagate


def blobs(n: int = 96, nfeat: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two separable classes."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = (rng.randn(n, nfeat) + 2.0 * y[:, None]).astype(np.float32)
    return X, y


def iterators(n: int = 96) -> tuple[ArrayIterator, ArrayIterator]:
    X, y = blobs(n)
    return ArrayIterator(X, y, nclass=2), ArrayIterator(X[:32], y[:32], nclass=2)


def small_model() -> Model:
    return Model(
        [
            Affine(8, init=Gaussian(scale=0.3), activation=Rectlin()),
            Affine(2, init=Gaussian(scale=0.3), activation=Softmax()),
        ]
    )


def write_mnist(directory: Path, ntrain: int = 64, ntest: int = 32) -> Path:
    """``mnist.pkl.gz`` in neon's format: ``((X_train, y_train), (X_test, y_test))``."""
    rng = np.random.RandomState(0)
    data = tuple(
        (rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8), rng.randint(10, size=n))
        for n in (ntrain, ntest)
    )
    path = directory / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)
    return path


def write_cifar(directory: Path, per_batch: int = 8) -> Path:
    """``cifar-10-batches-py/`` with neon's (python2-style, bytes keys) batch pickles."""
    rng = np.random.RandomState(0)
    batch_dir = directory / "cifar-10-batches-py"
    batch_dir.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch: dict[Any, Any] = {
            b"data": rng.randint(0, 256, size=(per_batch, 3072)).astype(np.uint8),
            b"labels": [int(v) for v in rng.randint(10, size=per_batch)],
        }
        with open(batch_dir / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    return batch_dir
