"""Every benchmark in one command, each beside a hand-written PyTorch loop in the same process.

Cases: neon's mnist_mlp (``fit_overhead.py``), cifar10_conv (``convnet.py``) and imdb_lstm
(``lstm.py``) topologies, as ``Model.fit`` in eager mode and, where they apply, compiled
(``gen_backend(compile=True)``; on CUDA also ``'reduce-overhead'``, which captures CUDA graphs),
against an eager hand-written loop over ``torch.nn`` modules; then ``optimizer_step.py`` and
``prm_io.py`` (run as they are, their output kept). On CUDA it also measures the largest MLP case
in bfloat16 against the card's measured peak bf16 matrix throughput.

Usage::

    python benchmarks/run_all.py --quick            # a few seconds: a smoke test (CI)
    python benchmarks/run_all.py --write            # full sizes; update BENCHMARKS.md
    python benchmarks/run_all.py --device cuda --write

Ratios are neon_torch time / hand-written time (lower is better; targets: eager <= 1.03,
compiled vs eager hand-written <= 1/1.3 on CUDA). Peak memory is CUDA's allocator peak (not
measured on the CPU, where allocations are not tracked per run).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import convnet
import fit_overhead
import lstm
import numpy as np
import torch

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"


def _measure(fn: Callable[[], float], device: torch.device) -> tuple[float, float | None]:
    """(seconds, peak MiB on CUDA) of one call of ``fn``, which returns its own timing."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    seconds = fn()
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return seconds, peak


def _fit_cases(quick: bool, device: torch.device) -> list[dict]:
    """The three ``Model.fit`` cases: data, sample count and the two sides to time."""
    backend = "gpu" if device.type == "cuda" else "cpu"
    rng = np.random.RandomState(0)
    n = 1024 if quick else fit_overhead.N
    x_mlp, y_mlp = rng.rand(n, fit_overhead.NIN).astype(np.float32), rng.randint(10, size=n)
    nconv = (2 if quick else 40) * convnet.BSZ
    x_conv = rng.rand(nconv, int(np.prod(convnet.SHAPE))).astype(np.float32)
    y_conv = rng.randint(convnet.NCLASS, size=nconv)
    sizes = lstm.QUICK if quick else lstm.Sizes()
    nlstm = sizes.batch * sizes.batches
    x_lstm = rng.randint(sizes.vocab, size=(nlstm, sizes.steps)).astype(np.float32)
    y_lstm = rng.randint(2, size=nlstm)
    return [
        {
            "name": "MLP (mnist_mlp)",
            "samples": n - n % fit_overhead.BSZ,
            "neon": lambda mode: fit_overhead.neon_torch_epoch(x_mlp, y_mlp, backend, False, mode),
            "torch": lambda: fit_overhead.torch_epoch(x_mlp, y_mlp, device),
        },
        {
            "name": "convnet (cifar10_conv)",
            "samples": nconv,
            "neon": lambda mode: convnet.neon_torch_epoch(x_conv, y_conv, backend, False, mode),
            "torch": lambda: convnet.torch_epoch(
                x_conv, y_conv, device, lambda: convnet._torch_modules(False), False
            ),
        },
        {
            "name": "LSTM (imdb_lstm)",
            "samples": nlstm,
            "neon": lambda mode: lstm.neon_torch_epoch(x_lstm, y_lstm, backend, sizes, mode),
            "torch": lambda: lstm.torch_epoch(x_lstm, y_lstm, device, sizes),
        },
    ]


def _modes(quick: bool, device: torch.device) -> list[str | None]:
    if device.type == "cuda":
        return [None, "default", "reduce-overhead"]
    return [None] if quick else [None, "default"]


def run_fit_cases(quick: bool, device: torch.device, repeats: int) -> list[list[str]]:
    rows = []
    for case in _fit_cases(quick, device):
        base, base_peak = min(_measure(case["torch"], device) for _ in range(repeats))
        rows.append(_row(case["name"], "hand-written torch (eager)", base, base, base_peak, case))
        for mode in _modes(quick, device):
            neon = case["neon"]
            run = min(_measure(lambda n=neon, m=mode: n(m), device) for _ in range(repeats))
            label = "neon_torch fit, " + ("eager" if mode is None else f"compile={mode!r}")
            rows.append(_row(case["name"], label, run[0], base, run[1], case))
    return rows


def _row(case: str, label: str, seconds: float, base: float, peak: float | None, spec: dict):
    return [
        case,
        label,
        f"{seconds * 1e3:.1f}",
        f"{seconds / base:.3f}",
        f"{spec['samples'] / seconds:,.0f}",
        "n/a" if peak is None else f"{peak:.0f}",
    ]


def bf16_peak_fraction(device: torch.device) -> str:
    """Achieved bf16 FLOP/s of a large MLP's training step over the measured matmul peak."""
    from neon_torch.backends import gen_backend
    from neon_torch.data import ArrayIterator
    from neon_torch.initializers import Gaussian
    from neon_torch.layers import Affine, GeneralizedCost
    from neon_torch.models import Model
    from neon_torch.optimizers import GradientDescentMomentum
    from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax

    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ a
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(20):
        a @ a
    torch.cuda.synchronize(device)
    peak = 20 * 2 * 8192**3 / (time.perf_counter() - start)
    width, depth, batch, nbatch = 8192, 4, 4096, 20
    gen_backend("gpu", rng_seed=0, batch_size=batch, datatype="bfloat16")
    rng = np.random.RandomState(0)
    data = ArrayIterator(
        rng.rand(batch * nbatch, width).astype(np.float32),
        rng.randint(10, size=batch * nbatch),
        nclass=10,
    )
    layers = [Affine(width, Gaussian(scale=0.01), activation=Rectlin()) for _ in range(depth)]
    model = Model([*layers, Affine(10, Gaussian(scale=0.01), activation=Softmax())])
    cost = GeneralizedCost(CrossEntropyMulti())
    seconds = fit_overhead.timed_fit(
        model, data, cost, GradientDescentMomentum(0.01, 0.9), None, warm=True
    )
    flops = 3 * 2 * (depth * width * width + width * 10) * batch * nbatch  # forward + backward
    achieved = flops / seconds
    return (
        f"bf16 MLP ({depth} x {width}, batch {batch}): {achieved / 1e12:.1f} TFLOP/s = "
        f"{achieved / peak:.0%} of the measured bf16 matmul peak ({peak / 1e12:.1f} TFLOP/s)"
    )


def _script(name: str, args: list[str]) -> str:
    out = subprocess.run(
        [sys.executable, str(HERE / name), *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--repeats", type=int, default=None, help="best of (default 3; 1 quick)")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    device = torch.device(args.device)
    repeats = args.repeats or (1 if args.quick else 3)
    header = ["case", "run", "ms / epoch", "ratio", "samples/s", "peak MiB"]
    rows = run_fit_cases(args.quick, device, repeats)
    lines = [
        f"Measured {datetime.date.today()} on {platform.node() or 'this machine'}: {args.device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else "")
        + (" (--quick sizes)" if args.quick else "")
        + f"; best of {repeats}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if device.type == "cuda" and not args.quick:
        lines += ["", bf16_peak_fraction(device)]
    opt_args = ["--params", "200000", "--repeat", "3"] if args.quick else []
    io_args = ["--quick", "--repeats", "1"] if args.quick else []
    for title, name, extra in (
        ("optimizer_step.py", "optimizer_step.py", [*opt_args, "--device", args.device]),
        ("prm_io.py", "prm_io.py", io_args),
    ):
        lines += ["", f"`{title}`:", "", "```", _script(name, extra), "```"]
    report = "\n".join(lines)
    print(report)
    if args.write:
        path = HERE.parent / "BENCHMARKS.md"
        text = path.read_text()
        section = f"{BEGIN}\n{report}\n{END}"
        if BEGIN in text:
            text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip() + "\n\n## `benchmarks/run_all.py` — everything, latest run\n\n"
            text += section + "\n"
        path.write_text(text)


if __name__ == "__main__":
    main()
