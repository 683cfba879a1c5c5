"""``neon-torch inspect FILE``: what a ``.prm`` file holds, without building a model.

Prints the file kind (neon_torch or a neon pickle), neon version, epoch, cost, optimizer and
every layer with its parameter shapes and counts.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

NAME = "inspect"
HELP = "show the layers, shapes, parameter counts, epoch and optimizer of a .prm file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a neon .prm/.pkl (optionally gzipped) or neon_torch .prm")


def _type(desc: Any) -> str:
    return str(desc.get("type", "?")).rsplit(".", 1)[-1] if isinstance(desc, dict) else "-"


def _lines(desc: dict[str, Any], depth: int, totals: list[int]) -> list[str]:
    config = desc.get("config") or {}
    pad = "  " * depth
    params = desc.get("params") or {}
    shapes = []
    for key, value in params.items():
        if hasattr(value, "shape"):
            totals[0] += int(np.prod(value.shape))
            shapes.append(f"{key} {tuple(value.shape)} {value.dtype}")
    states = desc.get("states")
    extra = f"  states: {_count(states)}" if states else ""
    line = f"{pad}{_type(desc)} {config.get('name', '')}".rstrip()
    out = [line + (f"  [{', '.join(shapes)}]" if shapes else "") + extra]
    for child in config.get("layers") or []:
        if isinstance(child, dict):
            out.extend(_lines(child, depth + 1, totals))
    return out


def _count(states: Any) -> int:
    if isinstance(states, list):
        return sum(_count(s) for s in states)
    return 1 if hasattr(states, "shape") else 0


def run(args: argparse.Namespace) -> int:
    from ..serialization import read_file

    loaded = read_file(args.file)
    tree = loaded.tree
    print(f"file: {args.file} ({loaded.kind})")
    for key in ("neon_version", "epoch_index", "train_input_shape"):
        if key in tree:
            print(f"{key}: {tree[key]}")
    ext = tree.get("neon_torch")
    if isinstance(ext, dict) and "epochs_completed" in ext:
        print(f"epochs completed: {ext['epochs_completed']}")
    backend = tree.get("backend") or {}
    if backend:
        print(f"backend: {backend.get('type')} (compat_mode {backend.get('compat_mode')})")
    print(f"cost: {_type(tree['cost']) if 'cost' in tree else '-'}")
    print(f"optimizer: {_type(tree['optimizer']) if 'optimizer' in tree else '-'}")
    totals = [0]
    if "model" in tree:
        print("layers:")
        print("\n".join(_lines(tree["model"], 1, totals)))
    else:
        entries = tree.get("layer_params_states", [])
        print(f"layers: old format, weights of {len(entries)} optimized layers")
        for i, entry in enumerate(entries):
            print("\n".join(_lines({"type": f"#{i}", **entry}, 1, totals)))
    print(f"parameters: {totals[0]}")
    return 0
