"""The main demo: neon's mnist_mlp recipe on a synthetic digit-like dataset (no download).

Run ``python -m neon_torch.demo`` (or ``neon-torch-demo``). It trains neon's MNIST MLP topology
with neon's callbacks and progress bar, then prints the evaluation cost and misclassification.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, GeneralizedCost
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyBinary, Logistic, Misclassification, Rectlin


def synthetic_digits(
    n: int, size: int = 28, nclass: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy ``size``×``size`` images of ``nclass`` fixed random patterns, flattened.

    The class patterns are the same for every ``seed``; ``seed`` draws labels and noise.

    Returns ``X`` of shape ``(n, size*size)`` in ``[0, 1]`` and integer labels ``(n,)``.
    """
    pattern_rng = np.random.RandomState(1234)
    shared = pattern_rng.rand(size * size) > 0.85  # strokes every class has
    own = pattern_rng.rand(nclass, size * size) > 0.985  # a few pixels that tell classes apart
    prototypes = (shared | own).astype(np.float32)
    rng = np.random.RandomState(seed)
    labels = rng.randint(nclass, size=n)
    kept = rng.rand(n, size * size) > 0.5  # strokes lose half of their pixels
    clutter = (rng.rand(n, size * size) > 0.85) * rng.rand(n, size * size)  # sparse noise
    X = np.clip(prototypes[labels] * kept + clutter, 0.0, 1.0)
    return X.astype(np.float32), labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-e", "--epochs", type=int, default=5)
    parser.add_argument("-b", "--backend", default="cpu", choices=["cpu", "mkl", "gpu"])
    parser.add_argument("-z", "--batch_size", type=int, default=128)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    gen_backend(backend=args.backend, rng_seed=0, batch_size=args.batch_size)
    X_train, y_train = synthetic_digits(6000, seed=1)
    X_test, y_test = synthetic_digits(1000, seed=2)
    train = ArrayIterator(X_train, y_train, nclass=10, lshape=(1, 28, 28))
    test = ArrayIterator(X_test, y_test, nclass=10, lshape=(1, 28, 28))

    init = Gaussian(loc=0.0, scale=0.01)
    layers = [
        Affine(nout=100, init=init, activation=Rectlin()),
        Affine(nout=10, init=init, activation=Logistic(shortcut=True)),
    ]
    cost = GeneralizedCost(costfunc=CrossEntropyBinary())
    optimizer = GradientDescentMomentum(0.1, momentum_coef=0.9)
    model = Model(layers=layers)
    callbacks = Callbacks(model, eval_set=test, eval_freq=1)
    model.fit(train, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)

    error = model.eval(test, metric=Misclassification())[0]
    print(f"Final train cost {model.total_cost.item():.4f}")  # type: ignore[union-attr]  # set by fit
    print(f"Eval cost {callbacks.callback_data['cost/loss'][-1]:.4f}")
    print(f"Misclassification error = {error * 100:.1f}%")


if __name__ == "__main__":
    main()
