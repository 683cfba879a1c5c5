"""Model.fit against a hand-written PyTorch loop on neon's mnist_mlp topology.

Both train 784 -> Affine(100, Rectlin) -> Affine(10, Logistic(shortcut=True)) with
CrossEntropyBinary and neon's GradientDescentMomentum(0.1, 0.9) rule, batch 128, on 60 000
synthetic samples already on the device, for one epoch, in the same process. The hand-written
loop uses plain ``torch.nn.Linear`` modules, computes the same reported cost and applies the
same multi-tensor update; it is what a PyTorch user would write to get neon's numbers.

Usage: ``python benchmarks/fit_overhead.py [--device cpu|cuda] [--repeats 5]``. Prints both
times (best of ``repeats``) and their ratio (target: <= 1.05).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import timed_fit
from torch import nn

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, GeneralizedCost
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyBinary, Logistic, Rectlin

N, NIN, BSZ = 60_000, 784, 128


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def neon_torch_epoch(
    X: np.ndarray, y: np.ndarray, backend: str, callbacks: bool, compile_mode: str | None = None
) -> float:
    """One ``Model.fit`` epoch; with ``compile_mode`` through ``torch.compile``, timed after a
    warm-up epoch."""
    gen_backend(backend, rng_seed=0, batch_size=BSZ, compile=compile_mode or False)
    train = ArrayIterator(X, y, nclass=10)
    init = Gaussian(scale=0.01)
    model = Model(
        [
            Affine(100, init=init, activation=Rectlin()),
            Affine(10, init=init, activation=Logistic(shortcut=True)),
        ]
    )
    cost = GeneralizedCost(CrossEntropyBinary())
    model.initialize(train, cost)
    cbs = Callbacks(model, progress_bar=False) if callbacks else None
    opt = GradientDescentMomentum(0.1, 0.9)
    return timed_fit(model, train, cost, opt, cbs, warm=compile_mode is not None)


def torch_epoch(X: np.ndarray, y: np.ndarray, device: torch.device) -> float:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(NIN, 100, bias=False), nn.ReLU(), nn.Linear(100, 10, bias=False))
    net.to(device)
    for p in net.parameters():
        nn.init.normal_(p, 0.0, 0.01)
    params = list(net.parameters())
    velocity = [torch.zeros_like(p) for p in params]
    data = torch.as_tensor(X, device=device)
    target = nn.functional.one_hot(torch.as_tensor(y, device=device), 10).float()
    floor = float(np.exp(-50.0))
    _sync(device)
    start = time.perf_counter()
    total = torch.zeros((), device=device)
    for i in range(0, len(X) - BSZ + 1, BSZ):
        x, t = data[i : i + BSZ], target[i : i + BSZ]
        for p in params:
            p.grad = None
        logits = net(x)
        out = torch.sigmoid(logits.detach())
        with torch.no_grad():  # neon's reported cost: mean over samples of the summed CE
            ce = torch.log(torch.clamp(1 - out, min=floor)) * (t - 1)
            ce = ce - torch.log(torch.clamp(out, min=floor)) * t
            total += ce.sum(-1).mean()
        logits.backward(out - t)  # Logistic(shortcut) + CE-binary: delta y - t, summed
        with torch.no_grad():  # neon GDM: v = mu v - lr g / bsz; p += v
            g = torch._foreach_div([p.grad for p in params], float(BSZ))
            torch._foreach_mul_(velocity, 0.9)
            torch._foreach_add_(velocity, g, alpha=-0.1)
            torch._foreach_add_(params, velocity)
    (total / (len(X) // BSZ)).item()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    backend = "gpu" if args.device == "cuda" else "cpu"
    device = torch.device(args.device)
    rng = np.random.RandomState(0)
    X = rng.rand(N, NIN).astype(np.float32)
    y = rng.randint(10, size=N)

    runs = {"neon_torch fit": [], "neon_torch fit + Callbacks": [], "hand-written torch": []}
    for _ in range(args.repeats):  # interleaved, so machine noise hits all alike
        runs["hand-written torch"].append(torch_epoch(X, y, device))
        runs["neon_torch fit"].append(neon_torch_epoch(X, y, backend, callbacks=False))
        runs["neon_torch fit + Callbacks"].append(neon_torch_epoch(X, y, backend, callbacks=True))
    best = {name: min(times) for name, times in runs.items()}
    base = best["hand-written torch"]
    print(f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"one epoch, {N} samples, batch {BSZ}, best of {args.repeats}")
    for name, seconds in best.items():
        print(f"{name:28s} {seconds * 1000:9.1f} ms   ratio {seconds / base:.3f}")


if __name__ == "__main__":
    main()
