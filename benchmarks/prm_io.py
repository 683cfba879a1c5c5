"""Parameter-file I/O: neon_torch's loaders against the plain library calls they build on.

Both sides of each pair read all of the data (lazy, memory-mapped loads sum every tensor).

1. Converting a synthetic legacy neon ``.prm`` (a protocol-2 pickle, as neon writes it) into a
   neon_torch ``.prm`` (restricted unpickling + normalisation + streaming safetensors write)
   vs a plain ``pickle.load`` of the same file. Target: ratio <= 1.5.
2. Loading a neon_torch ``.prm`` (header checks, checksum, description decode, every tensor
   through a memory map) vs ``safetensors.torch.load_file`` of the same file. Target:
   ratio <= 1.2. Also shown without the checksum (``read_prm(path, verify=False)``).

3. ``--zoo``: for every model-zoo file that ``tests/zoo/make_zoo.py`` wrote with real neon
   (AlexNet, VGG, GoogLeNet, ResNet-50, C3D, DeepSpeech2-style, ... 40-870 MB), reading it
   (``read_file``), ``Model(file)``, ``to_torch_module(file)``, ``neon-torch convert file x.pt``
   and the conversion to a neon_torch ``.prm`` vs a plain ``pickle.load`` of the same file.
   Targets: time <= 1.5x ``pickle.load``, peak memory <= 2x the file size.

Each operation runs in a fresh child process so its peak resident memory (``ru_maxrss``
minus the memory before the operation) is its own. ``--quick`` writes about 8 MB (CI smoke
test); the default writes about 600 MB (run by hand). Best of ``--repeats`` runs.

    python benchmarks/prm_io.py --quick
    python benchmarks/prm_io.py --size-mb 600
    python benchmarks/prm_io.py --zoo [DIR]   # DIR: $NEON_TORCH_ZOO or ~/.cache/neon_torch_zoo
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _legacy_tree(size_mb: float) -> dict:
    """A neon 2.6-style description: Linear layers with weights and one GDM state each."""
    width = 1024
    rows = max(1, int(size_mb * 2**20 / 2 / 4 / width / 8))  # W + state, float32, 8 layers
    rng = np.random.RandomState(0)
    layers = []
    for i in range(8):
        w = rng.standard_normal((rows, width)).astype(np.float32)
        layers.append(
            {
                "type": "neon.layers.layer.Linear",
                "config": {"name": f"Linear_{i}", "nout": rows},
                "params": {"W": w},
                "states": [w * 0.5],
            }
        )
    return {
        "neon_version": "2.6.0",
        "backend": {"type": "NervanaCPU", "compat_mode": "neon", "rng_seed": 0},
        "model": {
            "type": "neon.layers.container.Sequential",
            "config": {"name": "Sequential_0", "layers": layers},
            "container": True,
        },
        "epoch_index": 3,
    }


def _zoo_dir() -> str:
    return os.environ.get("NEON_TORCH_ZOO", os.path.expanduser("~/.cache/neon_torch_zoo"))


def _peak_rss() -> int:
    """Peak resident memory of this process (``VmHWM``; unlike ``ru_maxrss`` it is not
    inherited from the parent across ``exec``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _touch(tree: object) -> float:
    """Read every array of a loaded tree (so lazy, memory-mapped loads pay for their data)."""
    total = 0.0
    pending = [tree]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif hasattr(item, "shape"):
            array = item.numpy() if hasattr(item, "numpy") else item  # one reduction for both
            total += float(array.sum())
    return total


def _zoo_read(src: str, dst: str) -> None:
    from neon_torch.serialization import read_file

    read_file(src)


def _zoo_model(src: str, dst: str) -> None:
    from neon_torch.models import Model

    Model(src)


def _zoo_module(src: str, dst: str) -> None:
    from neon_torch.convert import to_torch_module

    to_torch_module(src)


def _zoo_convert_pt(src: str, dst: str) -> None:
    from neon_torch.cli import main

    assert main(["convert", src, dst + ".pt", "--quiet"]) == 0


def _zoo_convert_prm(src: str, dst: str) -> None:
    from neon_torch.serialization import prm_file, read_file

    prm_file.write_prm(dst + ".prm", read_file(src).tree)


_ZOO_OPS = {
    "read_file": _zoo_read,
    "Model(file)": _zoo_model,
    "to_torch_module": _zoo_module,
    "convert .pt": _zoo_convert_pt,
    "convert .prm": _zoo_convert_prm,
}


def _zoo(folder: Path, repeats: int) -> None:
    """The ``--zoo`` table (see the module docstring); files that are absent are skipped."""
    files = sorted(folder.glob("*.prm"))
    if not files:
        print(f"no zoo files in {folder}; make them with tests/zoo/make_zoo.py under neon 2.6")
        return
    ops = ["pickle.load", *_ZOO_OPS]
    print(f"{'file':14s} {'MiB':>6s} " + " ".join(f"{op:>22s}" for op in ops))
    worst_time, worst_peak = 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            mib = path.stat().st_size / 2**20
            res = {op: _measure(op, path, Path(tmp) / "out", repeats) for op in ops}
            base = res["pickle.load"]["seconds"]
            cells = [f"{base:6.2f} s {res['pickle.load']['peak'] / 2**20 / mib:4.2f}x mem"]
            for op in _ZOO_OPS:
                ratio = res[op]["seconds"] / base
                peak = res[op]["peak"] / 2**20 / mib
                worst_time, worst_peak = max(worst_time, ratio), max(worst_peak, peak)
                cells.append(f"{ratio:5.2f}x t {peak:4.2f}x mem")
            print(f"{path.stem:14s} {mib:6.0f} " + " ".join(f"{c:>22s}" for c in cells))
    print(
        "time = seconds / pickle.load's, mem = peak memory growth / file size; worst: "
        f"{worst_time:.2f}x time (target <= 1.5), {worst_peak:.2f}x memory (target <= 2)"
    )


def _child(op: str, src: str, dst: str) -> None:
    """Run one operation; print seconds and peak memory growth (bytes) as JSON."""
    import torch  # noqa: F401 - imported before the baseline so it is not counted
    from safetensors.torch import load_file

    from neon_torch.serialization import prm_file, read_file

    if op in _ZOO_OPS:
        from neon_torch.backends import gen_backend

        gen_backend("cpu", rng_seed=0, batch_size=2)
    base = _peak_rss()
    start = time.perf_counter()
    if op in _ZOO_OPS:
        _ZOO_OPS[op](src, dst)
    elif op == "write-legacy":
        with open(dst, "wb") as f:
            pickle.dump(_legacy_tree(float(src)), f, 2)
        return
    if op == "pickle.load":
        with open(src, "rb") as f:
            pickle.load(f)  # our synthetic file, or a zoo file made by make_zoo.py
    elif op == "convert":
        prm_file.write_prm(dst, read_file(src).tree)
    elif op == "prm.load":
        _touch(prm_file.read_prm(src))
    elif op == "prm.load (no checksum)":
        _touch(prm_file.read_prm(src, verify=False))
    elif op == "safetensors.load_file":
        _touch(load_file(src))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak": _peak_rss() - base}))


def _measure(op: str, src: Path, dst: Path, repeats: int) -> dict:
    best: dict | None = None
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, __file__, "--child", op, str(src), str(dst)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    return best  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 8 MB, for CI")
    parser.add_argument("--size-mb", type=float, default=600.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the files (default: tmp)")
    parser.add_argument(
        "--zoo",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="measure the model-zoo files in DIR (default $NEON_TORCH_ZOO or "
        "~/.cache/neon_torch_zoo)",
    )
    parser.add_argument("--child", nargs=3, metavar=("OP", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.zoo is not None:
        _zoo(Path(args.zoo or _zoo_dir()), args.repeats)
        return
    size = 8.0 if args.quick else args.size_mb
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        legacy = Path(tmp) / "legacy.prm"
        ours = Path(tmp) / "ours.prm"
        subprocess.run(
            [sys.executable, __file__, "--child", "write-legacy", str(size), str(legacy)],
            check=True,
        )  # in a child, so this process never holds the data (children inherit nothing)
        mib = os.path.getsize(legacy) / 2**20
        print(f"legacy pickle: {mib:.1f} MiB")
        rows = [
            ("pickle.load", legacy),
            ("convert", legacy),
            ("safetensors.load_file", ours),
            ("prm.load", ours),
            ("prm.load (no checksum)", ours),
        ]
        results = {op: _measure(op, src, ours, args.repeats) for op, src in rows}
    for op, _ in rows:
        r = results[op]
        print(f"{op:24s} {r['seconds'] * 1e3:9.1f} ms   peak +{r['peak'] / 2**20:8.1f} MiB")
    conv = results["convert"]["seconds"] / results["pickle.load"]["seconds"]
    load = results["prm.load"]["seconds"] / results["safetensors.load_file"]["seconds"]
    print(f"convert / pickle.load = {conv:.2f} (target <= 1.5)")
    print(f"prm load / safetensors.load_file = {load:.2f} (target <= 1.2)")
    bare = (
        results["prm.load (no checksum)"]["seconds"] / results["safetensors.load_file"]["seconds"]
    )
    print(f"prm load without the checksum / safetensors.load_file = {bare:.2f}")
    print(f"convert peak / file size = {results['convert']['peak'] / 2**20 / mib:.2f} (target < 2)")


if __name__ == "__main__":
    main()
