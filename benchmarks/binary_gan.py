"""Time a binarized-network epoch and GAN steps in neon_torch beside hand-written PyTorch loops.

* binary: neon's BinaryNet topology (``examples/binary/train.py``, narrower: ``--width``) as
  ``Model.fit`` (BinaryAffine + ShiftBatchNorm + Sign, SquareHingeLoss, ShiftAdaMax) against a
  plain torch loop of the usual BNN idiom (straight-through ``sign`` on weights and
  activations, ``nn.BatchNorm1d``, squared hinge loss, ``torch.optim.Adamax``, weights
  clipped to [-1, 1]); the torch loop does the same amount of work, not neon's arithmetic;
* gan: a fully connected GAN as ``GAN.fit`` (one discriminator step on generated and on data
  samples, one generator step per minibatch, Adam) against the same steps written in torch.

Reported: median seconds of ``--repeat`` timed epochs (after one warm-up epoch) and the ratio
neon_torch / torch (lower is better).

    python benchmarks/binary_gan.py              # CPU, full sizes
    python benchmarks/binary_gan.py --quick      # seconds: a smoke test
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from neon_torch.backends import cleanup_backend, gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Gaussian, Uniform
from neon_torch.layers import (
    Affine,
    BinaryAffine,
    GeneralizedCost,
    GeneralizedGANCost,
    GenerativeAdversarial,
    Sequential,
)
from neon_torch.models import GAN, Model
from neon_torch.optimizers import Adam, ShiftAdaMax
from neon_torch.transforms import GANCost, Identity, Logistic, Rectlin, Sign, SquareHingeLoss, Tanh

BSZ = 32


def _median_time(run: Callable[[], None], repeat: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- binary ---------------------------------------------------------------------------------
def binary_neon(x: np.ndarray, y: np.ndarray, width: int, repeat: int) -> float:
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train = ArrayIterator(x, y, nclass=10)
    layers = [
        BinaryAffine(width, init=Uniform(-1, 1), batch_norm=True, activation=Sign()),
        BinaryAffine(width, init=Uniform(-1, 1), batch_norm=True, activation=Sign()),
        BinaryAffine(10, init=Uniform(-1, 1), batch_norm=True, activation=Identity()),
    ]
    model = Model(layers)
    cost = GeneralizedCost(costfunc=SquareHingeLoss())
    optimizer = ShiftAdaMax(learning_rate=0.01)

    def epoch() -> None:
        model.fit(train, cost, optimizer, num_epochs=model.epoch_index + 1)
        model.total_cost.item()

    seconds = _median_time(epoch, repeat)
    cleanup_backend()
    return seconds


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1)


class _BinaryLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wb = self.weight + (torch.where(self.weight >= 0, 1.0, -1.0) - self.weight).detach()
        return nn.functional.linear(x, wb)


def binary_torch(x: np.ndarray, y: np.ndarray, width: int, repeat: int) -> float:
    torch.manual_seed(0)
    nin = x.shape[1]
    blocks: list[nn.Module] = []
    for i, (a, b) in enumerate([(nin, width), (width, width), (width, 10)]):
        blocks += [_BinaryLinear(a, b, bias=False), nn.BatchNorm1d(b, eps=1e-6, momentum=0.01)]
        if i < 2:
            blocks.append(_Sign())
    net = nn.Sequential(*blocks)
    opt = torch.optim.Adamax(net.parameters(), lr=0.01)
    xs, ts = torch.from_numpy(x), torch.nn.functional.one_hot(torch.from_numpy(y), 10).float()

    def epoch() -> None:
        total = torch.zeros(())
        for start in range(0, len(xs), BSZ):
            out = net(xs[start : start + BSZ])
            s = 2 * ts[start : start + BSZ] - 1
            loss = torch.clamp(1 - s * out, min=0).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for module in net:
                    if isinstance(module, _BinaryLinear):
                        module.weight.clamp_(-1, 1)
            total += loss.detach()
        total.item()

    return _median_time(epoch, repeat)


class _Sign(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SignSTE.apply(x)


# -- gan ------------------------------------------------------------------------------------
def gan_neon(x: np.ndarray, hidden: int, noise: int, repeat: int) -> float:
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    nfeat = x.shape[1]
    train = ArrayIterator(x, np.zeros(len(x), dtype=np.int64), nclass=2)
    init = Gaussian(scale=0.05)
    generator = Sequential(
        [
            Affine(hidden, init=init, batch_norm=True, activation=Rectlin()),
            Affine(nfeat, init=init, activation=Tanh()),
        ]
    )
    discriminator = Sequential(
        [
            Affine(hidden, init=init, activation=Rectlin(slope=0.1)),
            Affine(1, init=init, activation=Logistic()),
        ]
    )
    model = GAN(GenerativeAdversarial(generator, discriminator), noise_dim=(noise,))
    cost = GeneralizedGANCost(costfunc=GANCost(func="modified"))
    optimizer = Adam(learning_rate=2e-4, beta_1=0.5)

    def epoch() -> None:
        model.fit(train, cost, optimizer, num_epochs=model.epoch_index + 1)
        model.total_cost.item()

    seconds = _median_time(epoch, repeat)
    cleanup_backend()
    return seconds


def gan_torch(x: np.ndarray, hidden: int, noise: int, repeat: int) -> float:
    torch.manual_seed(0)
    nfeat = x.shape[1]
    gen = nn.Sequential(
        nn.Linear(noise, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, nfeat, bias=False),
        nn.Tanh(),
    )
    dis = nn.Sequential(
        nn.Linear(nfeat, hidden, bias=False),
        nn.LeakyReLU(0.1),
        nn.Linear(hidden, 1, bias=False),
        nn.Sigmoid(),
    )
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(dis.parameters(), lr=2e-4, betas=(0.5, 0.999))
    xs = torch.from_numpy(x)
    eps = torch.finfo(torch.float32).tiny

    def epoch() -> None:
        total = torch.zeros(())
        for i, start in enumerate(range(0, len(xs), BSZ)):
            real = xs[start : start + BSZ]
            opt_d.zero_grad(set_to_none=True)
            with torch.no_grad():
                fake = gen(torch.randn(len(real), noise))
            y_fake, y_real = dis(fake), dis(real)
            loss_d = -(torch.log(y_real + eps) + torch.log(1 - y_fake + eps)).sum()
            loss_d.backward()
            opt_d.step()
            if i > 0:
                opt_g.zero_grad(set_to_none=True)
                y_gen = dis(gen(torch.randn(len(real), noise)))
                loss_g = -torch.log(y_gen + eps).sum()
                loss_g.backward()
                opt_g.step()
                total += loss_d.detach()
        total.item()

    return _median_time(epoch, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--width", type=int, default=1024, help="BinaryAffine width")
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    n, width, repeat = (4 * BSZ, 64, 1) if args.quick else (60 * BSZ, args.width, args.repeat)
    torch.set_num_threads(torch.get_num_threads())
    x_bin = rng.randn(n, 784).astype(np.float32)
    y_bin = rng.randint(10, size=n)
    x_gan = np.tanh(rng.randn(n, 784)).astype(np.float32)
    hidden = 64 if args.quick else 512
    print(f"CPU, {torch.get_num_threads()} threads, batch {BSZ}, {n // BSZ} minibatches per epoch")
    print("| case | neon_torch s | torch s | ratio |")
    print("|---|---|---|---|")
    rows = [
        (
            f"binary epoch (3 x BinaryAffine({width}))",
            binary_neon(x_bin, y_bin, width, repeat),
            binary_torch(x_bin, y_bin, width, repeat),
        ),
        (
            f"GAN epoch (MLP, hidden {hidden})",
            gan_neon(x_gan, hidden, 100, repeat),
            gan_torch(x_gan, hidden, 100, repeat),
        ),
    ]
    for label, ours, theirs in rows:
        print(f"| {label} | {ours:.4f} | {theirs:.4f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
