"""The ``neon-torch`` command line: one module per subcommand.

Each subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; add a module to :data:`SUBCOMMANDS` to add a subcommand. Exit codes:
0 success, 1 a user error (bad or unreadable file, unsupported content; one line on stderr,
no stack trace), 2 wrong usage (argparse).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import NeonTorchError
from . import check, convert, inspect, plot, run

__all__ = ["SUBCOMMANDS", "main"]

SUBCOMMANDS = (convert, inspect, run, check, plot)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neon-torch",
        description="neon_torch tools: neon .prm files, neon scripts and YAML files, plots.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args._run(args))
    except BrokenPipeError:  # the reader went away (``neon-torch inspect f | head``)
        sys.stderr.close()
        return 0
    except (NeonTorchError, OSError) as err:
        print(f"neon-torch {args.command}: error: {err}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"neon-torch {args.command}: error: out of memory.", file=sys.stderr)
        return 1
