"""``neon-torch convert IN OUT``: a neon or neon_torch ``.prm`` to another format.

OUT's suffix chooses the format: ``.pt`` (a PyTorch state dict saved with ``torch.save``),
``.safetensors`` (the same state dict), ``.pt2`` (a ``torch.export`` program of the plain
module; input shape from the file; it takes any batch size, or only ``--batch-size`` when that
is given, for a model that cannot be exported otherwise) or ``.prm`` (neon_torch's format, e.g.
to convert a neon pickle once and for all).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..errors import PrmFormatError

NAME = "convert"
HELP = "convert a .prm file (neon or neon_torch) to .pt, .safetensors, .pt2 or .prm"
_SUFFIXES = (".pt", ".safetensors", ".pt2", ".prm")
_MAX_BATCH = 65536


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a neon .prm/.pkl (optionally gzipped) or neon_torch .prm")
    parser.add_argument("output", help=f"output file; its suffix is one of {', '.join(_SUFFIXES)}")
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=None,
        help=".pt2 only: export for this one batch size, 1 to 65536 (default: any batch size)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def _batch_size(text: str) -> int:
    """argparse type of ``--batch-size``: an int from 1 to 65536 (a usage error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer") from None
    if not 1 <= value <= _MAX_BATCH:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..{_MAX_BATCH}")
    return value


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix not in _SUFFIXES:
        raise PrmFormatError(
            f"{out}: unknown output suffix {out.suffix!r}; use one of {', '.join(_SUFFIXES)}."
        )
    if not os.path.exists(args.input):
        raise FileNotFoundError(f"{args.input}: no such file")
    start = time.perf_counter()
    size = os.path.getsize(args.input)
    _say(args, f"reading {args.input} ({size / 2**20:.1f} MiB)")
    if out.suffix == ".prm":
        from ..serialization import prm_file, read_file
        from ..serialization.build import validate

        loaded = read_file(args.input)
        if "model" in loaded.tree:  # refuse what Model(file) would refuse, before writing
            validate(loaded.tree["model"], loaded.path)
        _say(args, f"read {loaded.kind} in {time.perf_counter() - start:.2f}s; writing {out}")
        prm_file.write_prm(out, loaded.tree)
    else:
        _convert_to_torch(args, out)
    _say(
        args,
        f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - start:.2f}s",
    )
    return 0


def _convert_to_torch(args: argparse.Namespace, out: Path) -> None:
    from ..convert import load_model, to_torch_module
    from ..convert.export import save_module

    model = load_model(args.input)
    module = to_torch_module(model)
    _say(args, f"built {type(module).__name__} with {len(module.state_dict())} tensors; writing")
    save_module(
        module,
        model.layers.in_shape,
        out,
        batch_size=args.batch_size,
        source_name=os.path.basename(args.input),
    )
