"""Time one update of every neon optimizer against the closest ``torch.optim`` optimizer.

Both sides update the same parameter set (a mix of large and small tensors, ``--params`` values
in all) through the ``torch.optim.Optimizer`` interface: the neon rule via
``opt.as_torch_optimizer(params, batch_size)`` (the very code ``Model.fit`` runs), torch with
``foreach=True``. Each optimizer is warmed up (states created), then the median wall time of
``--repeat`` steps is reported with the ratio neon / torch (target: <= 1.10).

    python benchmarks/optimizer_step.py                   # 5M parameters on CPU
    python benchmarks/optimizer_step.py --params 50000000 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from neon_torch.optimizers import (
    Adadelta,
    Adagrad,
    Adam,
    GradientDescentMomentum,
    RMSProp,
    ShiftAdaMax,
)

BATCH = 32

# (label, neon optimizer factory, torch optimizer factory taking params)
PAIRS: list[tuple[str, Callable[[], Any], Callable[[list[torch.Tensor]], Any]]] = [
    (
        "GDM(momentum) / SGD",
        lambda: GradientDescentMomentum(0.01, 0.9),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, foreach=True),
    ),
    (
        "GDM(nesterov) / SGD",
        lambda: GradientDescentMomentum(0.01, 0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, foreach=True),
    ),
    (
        "GDM(wdecay) / SGD",
        lambda: GradientDescentMomentum(0.01, 0.9, wdecay=1e-4),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=1e-4, foreach=True),
    ),
    (
        "RMSProp / RMSprop",
        lambda: RMSProp(learning_rate=1e-3),
        lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.95, eps=1e-6, foreach=True),
    ),
    (
        "Adagrad / Adagrad",
        lambda: Adagrad(learning_rate=1e-2),
        lambda p: torch.optim.Adagrad(p, lr=1e-2, eps=1e-6, foreach=True),
    ),
    (
        "Adadelta / Adadelta",
        lambda: Adadelta(),
        lambda p: torch.optim.Adadelta(p, rho=0.95, eps=1e-6, foreach=True),
    ),
    (
        "Adam / Adam",
        lambda: Adam(learning_rate=1e-3),
        lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
    ),
    (
        "ShiftAdaMax / Adamax",
        lambda: ShiftAdaMax(learning_rate=2e-3),
        lambda p: torch.optim.Adamax(p, lr=2e-3, foreach=True),
    ),
]


def make_params(total: int, device: torch.device) -> list[torch.Tensor]:
    """About ``total`` values: a few large matrices plus many small vectors (biases, norms)."""
    sizes = []
    big = total // 8
    for _ in range(7):
        sizes.append(big)
    rest = total - sum(sizes)
    small = [max(rest // 64, 1)] * 64
    small[-1] += rest - sum(small)
    sizes += small
    gen = torch.Generator(device="cpu").manual_seed(0)
    params = []
    for n in sizes:
        p = torch.nn.Parameter(torch.randn(n, generator=gen).mul_(0.05).to(device))
        p.grad = torch.randn(n, generator=gen).mul_(0.01).to(device)
        params.append(p)
    return params


def clone_params(params: list[torch.Tensor]) -> list[torch.Tensor]:
    out = []
    for p in params:
        q = torch.nn.Parameter(p.detach().clone())
        q.grad = p.grad.detach().clone()
        out.append(q)
    return out


def time_pair(opts: list[Any], device: torch.device, repeat: int, warmup: int) -> list[float]:
    """Median step time of each optimizer; steps alternate so both see the same conditions."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        for opt in opts:
            opt.step()
    sync()
    times: list[list[float]] = [[] for _ in opts]
    for _ in range(repeat):
        for opt, out in zip(opts, times, strict=True):
            start = time.perf_counter()
            opt.step()
            sync()
            out.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--params", type=int, default=None, help="parameter count (default: 50M on CUDA, 5M on CPU)"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    total = args.params or (50_000_000 if device.type == "cuda" else 5_000_000)
    if args.threads:
        torch.set_num_threads(args.threads)
    base = make_params(total, device)
    print(
        f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
        f"{sum(p.numel() for p in base) / 1e6:.1f}M parameters in {len(base)} tensors, "
        f"median of {args.repeat} steps each"
    )
    print(f"{'neon / torch.optim':24s} {'neon ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    worst = 0.0
    for label, make_neon, make_torch in PAIRS:
        neon_params, torch_params = clone_params(base), clone_params(base)
        neon_opt = make_neon().as_torch_optimizer(neon_params, batch_size=BATCH)
        torch_opt = make_torch(torch_params)
        t_neon, t_torch = time_pair([neon_opt, torch_opt], device, args.repeat, args.warmup)
        ratio = t_neon / t_torch
        worst = max(worst, ratio)
        print(f"{label:24s} {t_neon * 1e3:9.2f} {t_torch * 1e3:9.2f} {ratio:6.2f}")
        del neon_params, torch_params, neon_opt, torch_opt
    print(f"worst ratio {worst:.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
