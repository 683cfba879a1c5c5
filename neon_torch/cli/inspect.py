"""``neon-torch inspect FILE``: what a ``.prm`` file holds, without building a model.

Prints the file kind (neon_torch or a neon pickle), neon version, epoch, cost, optimizer and
every layer with its parameter shapes and counts.
"""

from __future__ import annotations

import argparse
import reprlib
from typing import Any

import numpy as np

_BRIEF = reprlib.Repr()  # file content is shown bounded in depth and length
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxtuple, _BRIEF.maxdict = 3, 8, 8, 8
_BRIEF.maxstring = _BRIEF.maxother = 60


def _text(value: Any) -> str:
    return value[:100] if isinstance(value, str) else _BRIEF.repr(value)


NAME = "inspect"
HELP = "show the layers, shapes, parameter counts, epoch and optimizer of a .prm file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a neon .prm/.pkl (optionally gzipped) or neon_torch .prm")


def _type(desc: Any) -> str:
    if not isinstance(desc, dict):
        return "-"
    return _text(desc.get("type", "?")).rsplit(".", 1)[-1]


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _lines(desc: dict[str, Any], depth: int, totals: list[int]) -> list[str]:
    config = _dict(desc.get("config"))
    pad = "  " * depth
    params = _dict(desc.get("params"))
    shapes = []
    for key, value in params.items():
        if hasattr(value, "shape"):
            totals[0] += int(np.prod(value.shape))
            shapes.append(f"{key} {tuple(value.shape)} {value.dtype}")
    states = desc.get("states")
    extra = f"  states: {_count(states)}" if states else ""
    name = config.get("name", "")
    line = f"{pad}{_type(desc)} {_text(name)}".rstrip()
    out = [line + (f"  [{', '.join(shapes)}]" if shapes else "") + extra]
    children = config.get("layers")
    for child in children if isinstance(children, (list, tuple)) else []:
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
            print(f"{key}: {_text(tree[key])}")
    ext = tree.get("neon_torch")
    if isinstance(ext, dict) and "epochs_completed" in ext:
        print(f"epochs completed: {_BRIEF.repr(ext['epochs_completed'])}")
    backend = _dict(tree.get("backend"))
    if backend:
        print(
            f"backend: {_text(backend.get('type'))} "
            f"(compat_mode {_text(backend.get('compat_mode'))})"
        )
    print(f"cost: {_type(tree['cost']) if 'cost' in tree else '-'}")
    print(f"optimizer: {_type(tree['optimizer']) if 'optimizer' in tree else '-'}")
    totals = [0]
    if "model" in tree:
        print("layers:")
        print("\n".join(_lines(tree["model"], 1, totals)))
    else:
        entries = [e for e in tree.get("layer_params_states", []) if isinstance(e, dict)]
        print(f"layers: old format, weights of {len(entries)} optimized layers")
        for i, entry in enumerate(entries):
            print("\n".join(_lines({"type": f"#{i}", **entry}, 1, totals)))
    print(f"parameters: {totals[0]}")
    return 0
