"""A layer written against neon's API (backend op-trees, its own bprop) against the same math
in built-in torch-module layers, both trained by ``Model.fit``.

The custom network is 784 -> DenseLayer(256) [compound_dot fprop/bprop] -> an op-tree bias +
rectifier layer -> DenseLayer(10) -> Softmax, with a func/funcgrad cross-entropy cost; the
reference is Affine(256, bias, Rectlin) -> Affine(10, Softmax) with CrossEntropyMulti. Same
shapes, same initial weights, GradientDescentMomentum, batch 128, 16 384 synthetic samples.

Usage: ``python benchmarks/custom_layer.py [--repeats 5]``. Prints both epoch times (best of
``repeats``) and their ratio (target: <= 1.5).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from _common import timed_fit

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Constant, Gaussian
from neon_torch.layers import Activation, Affine, GeneralizedCost
from neon_torch.layers._base import Layer, ParameterLayer
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax
from neon_torch.transforms.cost import Cost

N, NIN, HIDDEN, BSZ = 16_384, 784, 256, 128


class DenseLayer(ParameterLayer):
    """neon's guide-style fully connected layer."""

    def __init__(self, nout: int, init: Any, name: str | None = None) -> None:
        super().__init__(init, name)
        self.nout = nout

    def configure(self, in_obj: Any) -> DenseLayer:
        super().configure(in_obj)
        self.nin = int(np.prod(self.in_shape))
        self.out_shape = (self.nout,)
        self.weight_shape = (self.nout, self.nin)
        return self

    def fprop(self, inputs: Any, inference: bool = False) -> Any:
        self.inputs = inputs
        self.be.compound_dot(A=self.W, B=self.inputs, C=self.outputs)
        return self.outputs

    def bprop(self, error: Any) -> Any:
        if self.deltas:
            self.be.compound_dot(A=self.W.T, B=error, C=self.deltas)
        self.be.compound_dot(A=error, B=self.inputs.T, C=self.dW)
        return self.deltas


class BiasRelu(ParameterLayer):
    """``y = max(x + b, 0)`` with op-trees; backward ``error · [y > 0]``."""

    def configure(self, in_obj: Any) -> BiasRelu:
        super().configure(in_obj)
        self.weight_shape = (int(np.prod(self.in_shape)), 1)
        return self

    def fprop(self, inputs: Any, inference: bool = False) -> Any:
        self.outputs[:] = self.be.maximum(inputs + self.W, 0)
        return self.outputs

    def bprop(self, error: Any) -> Any:
        self.deltas[:] = error * self.be.greater(self.outputs, 0)
        self.be.sum(self.deltas, axis=1, out=self.dW)
        return self.deltas


class Xent(Cost):
    def __init__(self) -> None:
        self.func = lambda y, t: self.be.sum(-t * self.be.safelog(y), axis=0)
        self.funcgrad = lambda y, t: y - t


def epoch(X: np.ndarray, y: np.ndarray, custom: bool) -> float:
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train = ArrayIterator(X, y, nclass=10)
    init = Gaussian(scale=0.01)
    if custom:
        layers: list[Layer | Any] = [
            DenseLayer(HIDDEN, init),
            BiasRelu(Constant(0.0)),
            DenseLayer(10, init),
            Activation(Softmax()),
        ]
        cost = GeneralizedCost(Xent())
    else:
        layers = [
            Affine(HIDDEN, init, bias=Constant(0.0), activation=Rectlin()),
            Affine(10, init, activation=Softmax()),
        ]
        cost = GeneralizedCost(CrossEntropyMulti())
    model = Model(layers)
    model.initialize(train, cost)
    return timed_fit(model, train, cost, GradientDescentMomentum(0.01, 0.9), None, warm=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    X = rng.rand(N, NIN).astype(np.float32)
    y = rng.randint(10, size=N)
    runs: dict[str, list[float]] = {"built-in layers": [], "neon-style op-tree layers": []}
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        runs["built-in layers"].append(epoch(X, y, custom=False))
        runs["neon-style op-tree layers"].append(epoch(X, y, custom=True))
    best = {name: min(times) for name, times in runs.items()}
    base = best["built-in layers"]
    print(f"one epoch, {N} samples, batch {BSZ}, best of {args.repeats}")
    for name, seconds in best.items():
        print(f"{name:28s} {seconds * 1000:9.1f} ms   ratio {seconds / base:.3f}")


if __name__ == "__main__":
    main()
