"""Model.fit against hand-written PyTorch loops on neon's cifar10_conv topology.

neon's examples/cifar10_conv.py network: Conv(5x5x16, BN, Rectlin) -> Pooling(2) ->
Conv(5x5x32, BN, Rectlin) -> Pooling(2) -> Affine(500, BN, Rectlin) -> Affine(10, Softmax),
Uniform(-0.1, 0.1) init, CrossEntropyMulti, GradientDescentMomentum(0.01, 0.9), batch 128, on
synthetic 3x32x32 images already on the device, one epoch, all in the same process.

Three runs, interleaved so machine noise hits all alike:

* ``neon_torch fit``: ``Model.fit`` with default ``Callbacks`` (no progress bar);
* ``torch loop, same modules``: a hand-written loop over ``model.module`` (the very same
  ``torch.nn.Module`` tree) computing the same reported cost and neon's update with
  ``torch._foreach`` ops: the ratio to this one is the cost of neon_torch's loop (target
  <= 1.05);
* ``torch loop, torch.nn modules``: the same loop over ``nn.Conv2d``/``nn.BatchNorm2d``/
  ``nn.MaxPool2d``/``nn.Linear`` (for reference: the cost of neon's layer semantics, e.g. its
  biased running variance).

Usage: ``python benchmarks/convnet.py [--device cpu|cuda] [--repeats 3] [--batches 40]
[--channels-last] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from _common import timed_fit
from torch import nn

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Uniform
from neon_torch.layers import Affine, Conv, GeneralizedCost, Pooling
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax

BSZ, SHAPE, NCLASS = 128, (3, 32, 32), 10
LR, MOMENTUM = 0.01, 0.9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _neon_model(
    X: np.ndarray, y: np.ndarray, backend: str, channels_last: bool, compile_mode: str | None = None
) -> tuple:
    gen_backend(
        backend,
        rng_seed=0,
        batch_size=BSZ,
        channels_last=channels_last,
        compile=compile_mode or False,
    )
    train = ArrayIterator(X, y, nclass=NCLASS, lshape=SHAPE)
    init = Uniform(low=-0.1, high=0.1)
    model = Model(
        [
            Conv((5, 5, 16), init=init, activation=Rectlin(), batch_norm=True),
            Pooling((2, 2)),
            Conv((5, 5, 32), init=init, activation=Rectlin(), batch_norm=True),
            Pooling((2, 2)),
            Affine(nout=500, init=init, activation=Rectlin(), batch_norm=True),
            Affine(nout=NCLASS, init=init, activation=Softmax()),
        ]
    )
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.initialize(train, cost)
    return model, train, cost


def neon_torch_epoch(
    X: np.ndarray, y: np.ndarray, backend: str, channels_last: bool, compile_mode: str | None = None
) -> float:
    """One ``Model.fit`` epoch with default Callbacks; with ``compile_mode`` through
    ``torch.compile``, timed after a warm-up epoch."""
    model, train, cost = _neon_model(X, y, backend, channels_last, compile_mode)
    callbacks = Callbacks(model, progress_bar=False)
    opt = GradientDescentMomentum(LR, momentum_coef=MOMENTUM)
    return timed_fit(model, train, cost, opt, callbacks, warm=compile_mode is not None)


def _torch_modules(channels_last: bool) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 5, bias=False),
        nn.BatchNorm2d(16, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, bias=False),
        nn.BatchNorm2d(32, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 5 * 5, 500, bias=False),
        nn.BatchNorm1d(500, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.Linear(500, NCLASS, bias=False),
    )
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.uniform_(m.weight, -0.1, 0.1)
    return net.to(memory_format=torch.channels_last) if channels_last else net


def torch_epoch(
    X: np.ndarray, y: np.ndarray, device: torch.device, build: Callable[[], nn.Module], cl: bool
) -> float:
    """A plain loop: forward, neon's reported cost, softmax-CE delta ``y - t`` (summed
    gradients), GDM ``v = mu v - lr g / bsz; p += v``."""
    net = build().to(device).train()
    params = [p for p in net.parameters() if p.requires_grad]
    velocity = [torch.zeros_like(p) for p in params]
    data = torch.as_tensor(X, device=device).reshape(-1, *SHAPE)
    if cl:
        data = data.contiguous(memory_format=torch.channels_last)
    target = nn.functional.one_hot(torch.as_tensor(y, device=device), NCLASS).float()
    floor = float(np.exp(-50.0))
    nbatches = len(X) // BSZ
    _sync(device)
    start = time.perf_counter()
    total = torch.zeros((), device=device)
    for i in range(nbatches):
        x, t = data[i * BSZ : (i + 1) * BSZ], target[i * BSZ : (i + 1) * BSZ]
        for p in params:
            p.grad = None
        logits = net(x)
        out = torch.softmax(logits.detach(), dim=-1)
        with torch.no_grad():
            total += (-torch.log(torch.clamp(out, min=floor)) * t).sum(-1).mean()
        logits.backward(out - t)
        with torch.no_grad():
            g = torch._foreach_div([p.grad for p in params], float(BSZ))
            torch._foreach_mul_(velocity, MOMENTUM)
            torch._foreach_add_(velocity, g, alpha=-LR)
            torch._foreach_add_(params, velocity)
    (total / nbatches).item()
    _sync(device)
    return time.perf_counter() - start


def _same_modules(X: np.ndarray, y: np.ndarray, backend: str, cl: bool) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        model, _, _ = _neon_model(X, y, backend, cl)
        return _NeonModule(model)

    return build


class _NeonModule(nn.Module):
    """``model.module`` without its final Softmax (the loop applies it, as for torch.nn)."""

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model  # keep the neon_torch model (and its layer names) alive
        self.body = nn.Sequential(*list(model.module.layers)[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, default=40, help="minibatches per epoch")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    parser.add_argument("--quick", action="store_true", help="a few seconds: smoke test")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.batches = 1, 3
    backend = "gpu" if args.device == "cuda" else "cpu"
    device = torch.device(args.device)
    rng = np.random.RandomState(0)
    n = args.batches * BSZ
    X = rng.rand(n, int(np.prod(SHAPE))).astype(np.float32)
    y = rng.randint(NCLASS, size=n)
    cl = args.channels_last

    runs: dict[str, list[float]] = {
        "neon_torch fit": [],
        "torch loop, same modules": [],
        "torch loop, torch.nn modules": [],
    }
    for _ in range(args.repeats):
        runs["torch loop, same modules"].append(
            torch_epoch(X, y, device, _same_modules(X, y, backend, cl), cl)
        )
        runs["neon_torch fit"].append(neon_torch_epoch(X, y, backend, cl))
        runs["torch loop, torch.nn modules"].append(
            torch_epoch(X, y, device, lambda: _torch_modules(cl), cl)
        )
    best = {name: min(times) for name, times in runs.items()}
    base = best["torch loop, same modules"]
    print(f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"cifar10_conv, one epoch of {args.batches} x {BSZ} samples, best of {args.repeats}")
    print(f"channels_last={cl}")
    for name, seconds in best.items():
        print(f"{name:30s} {seconds * 1000:9.1f} ms   ratio {seconds / base:.3f}")


if __name__ == "__main__":
    main()
