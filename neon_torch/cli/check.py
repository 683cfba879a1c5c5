"""``neon-torch check SCRIPT.py``: list every neon name a script imports that neon_torch does
not provide, all at once, each with its reason (the script is parsed, not run)."""

from __future__ import annotations

import argparse
import os

NAME = "check"
HELP = "list the neon names a script imports that neon_torch lacks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", help="a neon Python script")


def report(script: str) -> list[str]:
    """The lines ``check`` prints for ``script``: one per unsupported import."""
    from .. import compat
    from ..compat._check import check_script

    installed = compat.is_installed()
    compat.install()
    try:
        return [str(p) for p in check_script(script)]
    finally:
        if not installed:
            compat.uninstall()


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.script):
        raise FileNotFoundError(f"{args.script}: no such file")
    try:
        lines = report(args.script)
    except SyntaxError as err:
        raise ValueError(f"{args.script} is not valid Python: {err}") from None
    for line in lines:
        print(line)
    if lines:
        print(f"{args.script}: {len(lines)} unsupported neon import(s); see docs/compat.md")
        return 1
    print(f"{args.script}: every neon import resolves under neon_torch")
    return 0
