"""Writes ``tests/data/own_format/mlp.prm``, the committed file in neon_torch's own format that
``test_own_format.py`` checks byte for byte (a change in the writer shows as a diff here).

    python3 tests/legacy/make_own_format_file.py [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Gaussian, Uniform
from neon_torch.layers import Affine, Conv, GeneralizedCost, Pooling
from neon_torch.models import Model
from neon_torch.optimizers import Adam
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax

OUT = Path(__file__).resolve().parents[1] / "data" / "own_format" / "mlp.prm"


def build(out: Path) -> Model:
    """A small conv + MLP trained one epoch from seed 0 and saved with its states (on one
    thread: the sums of a multi-threaded run round differently)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _build(out)
    finally:
        torch.set_num_threads(threads)


def _build(out: Path) -> Model:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    rng = np.random.RandomState(0)
    x = rng.rand(8, 2 * 6 * 6).astype(np.float32)
    y = rng.randint(0, 3, size=8)
    data = ArrayIterator(x, y, nclass=3, lshape=(2, 6, 6))
    layers = [
        Conv((3, 3, 4), init=Gaussian(scale=0.1), activation=Rectlin(), bias=Uniform()),
        Pooling(2),
        Affine(nout=3, init=Gaussian(scale=0.1), activation=Softmax()),
    ]
    model = Model(layers)
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(data, cost, Adam(), num_epochs=1)
    model.save_params(str(out), keep_states=True)
    return model


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
