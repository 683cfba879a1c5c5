"""Model.fit against a hand-written PyTorch loop on neon's imdb_lstm topology.

Both train LookupTable(20000, 128) -> LSTM(128, Tanh, Logistic, reset_cells=True) ->
RecurrentSum -> Affine(2, bias, Softmax) with CrossEntropyMulti and neon's
GradientDescentMomentum(0.01, 0.9) rule, on sequences of 128 token ids, batch 32, synthetic
data already on the device, for one epoch, in the same process. The hand-written loop uses
``nn.Embedding``, ``nn.LSTM`` (batch first) and ``nn.Linear``, reports the same cost and applies
the same multi-tensor update: what a PyTorch user would write for this model.

Usage: ``python benchmarks/lstm.py [--device cpu|cuda] [--repeats 3] [--batches 20] [--quick]``
(``--quick``: tiny sizes, a few seconds). Prints both times (best of ``repeats``) and their
ratio (target: <= 1.10).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch
from _common import timed_fit
from torch import nn

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.initializers import GlorotUniform, Uniform
from neon_torch.layers import LSTM, Affine, GeneralizedCost, LookupTable, RecurrentSum
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Logistic, Softmax, Tanh


@dataclass
class Sizes:
    vocab: int = 20_000
    embedding: int = 128
    hidden: int = 128
    steps: int = 128
    batch: int = 32
    batches: int = 20


QUICK = Sizes(vocab=200, embedding=16, hidden=16, steps=16, batch=8, batches=10)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def neon_torch_epoch(
    X: np.ndarray, y: np.ndarray, backend: str, s: Sizes, compile_mode: str | None = None
) -> float:
    """One ``Model.fit`` epoch; with ``compile_mode`` through ``torch.compile``, timed after a
    warm-up epoch."""
    gen_backend(backend, rng_seed=0, batch_size=s.batch, compile=compile_mode or False)
    train = ArrayIterator(X, y, nclass=2)
    glorot = GlorotUniform()
    model = Model(
        [
            LookupTable(s.vocab, s.embedding, init=Uniform(-0.05, 0.05)),
            LSTM(s.hidden, glorot, activation=Tanh(), gate_activation=Logistic(), reset_cells=True),
            RecurrentSum(),
            Affine(2, glorot, bias=glorot, activation=Softmax()),
        ]
    )
    cost = GeneralizedCost(CrossEntropyMulti())
    model.initialize(train, cost)
    opt = GradientDescentMomentum(0.01, 0.9)
    return timed_fit(model, train, cost, opt, None, warm=compile_mode is not None)


def torch_epoch(X: np.ndarray, y: np.ndarray, device: torch.device, s: Sizes) -> float:
    torch.manual_seed(0)
    embed = nn.Embedding(s.vocab, s.embedding).to(device)
    lstm = nn.LSTM(s.embedding, s.hidden, batch_first=True).to(device)
    head = nn.Linear(s.hidden, 2).to(device)
    params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
    velocity = [torch.zeros_like(p) for p in params]
    data = torch.as_tensor(X, device=device).long()
    target = nn.functional.one_hot(torch.as_tensor(y, device=device), 2).float()
    floor = float(np.exp(-50.0))
    _sync(device)
    start = time.perf_counter()
    total = torch.zeros((), device=device)
    for i in range(0, len(X), s.batch):
        x, t = data[i : i + s.batch], target[i : i + s.batch]
        for p in params:
            p.grad = None
        logits = head(lstm(embed(x))[0].sum(dim=1))
        out = torch.softmax(logits.detach(), dim=-1)
        with torch.no_grad():  # neon's reported cost: mean over samples of the summed CE
            total += (-t * torch.log(torch.clamp(out, min=floor))).sum(-1).mean()
        logits.backward(out - t)  # Softmax + CE-multi: delta y - t, summed over the batch
        with torch.no_grad():  # neon GDM: v = mu v - lr g / bsz; p += v
            g = torch._foreach_div([p.grad for p in params], float(s.batch))
            torch._foreach_mul_(velocity, 0.9)
            torch._foreach_add_(velocity, g, alpha=-0.01)
            torch._foreach_add_(params, velocity)
    (total / s.batches).item()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, default=Sizes.batches)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a few seconds)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes(batches=args.batches)
    backend = "gpu" if args.device == "cuda" else "cpu"
    device = torch.device(args.device)
    rng = np.random.RandomState(0)
    n = sizes.batch * sizes.batches
    X = rng.randint(sizes.vocab, size=(n, sizes.steps)).astype(np.float32)
    y = rng.randint(2, size=n)

    runs: dict[str, list[float]] = {"hand-written torch (nn.LSTM)": [], "neon_torch fit": []}
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        runs["hand-written torch (nn.LSTM)"].append(torch_epoch(X, y, device, sizes))
        runs["neon_torch fit"].append(neon_torch_epoch(X, y, backend, sizes))
    best = {name: min(times) for name, times in runs.items()}
    base = best["hand-written torch (nn.LSTM)"]
    print(f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()}")
    print(
        f"one epoch: {sizes.batches} batches of {sizes.batch} x {sizes.steps} steps, vocab "
        f"{sizes.vocab}, embedding {sizes.embedding}, hidden {sizes.hidden}; best of "
        f"{args.repeats}"
    )
    for name, seconds in best.items():
        print(f"{name:30s} {seconds * 1000:9.1f} ms   ratio {seconds / base:.3f}")


if __name__ == "__main__":
    main()
