"""``neon-torch run SCRIPT.py [args...]`` / ``neon-torch run model.yaml [args...]``.

A Python script runs as ``__main__`` with the ``neon`` import shim installed
(:func:`neon_torch.compat.install`), ``sys.argv`` set to ``[SCRIPT.py, args...]`` and the
script's directory first on ``sys.path``, as ``python SCRIPT.py`` would; the script's exit
status becomes the command's. A ``.yaml``/``.yml`` file is run as neon's ``neon`` command ran
experiment files (see :mod:`neon_torch.cli.yaml_experiment`), with neon's flags.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys

NAME = "run"
HELP = "run a neon script (with the neon import shim) or a neon YAML experiment file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nproc",
        type=_nproc,
        default=1,
        metavar="N",
        help="run N data-parallel processes under torchrun (docs/distributed.md)",
    )
    parser.add_argument("script", help="a neon Python script, or a neon YAML experiment file")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="arguments for the script (neon's flags: -e, -b ...)"
    )


def _nproc(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes >= 1, got {value!r}")
    return int(value)


def _exit_code(err: SystemExit) -> int:
    if err.code is None:
        return 0
    if isinstance(err.code, int):
        return err.code
    print(err.code, file=sys.stderr)
    return 1


def _report_all(script: str) -> None:
    """After the first unsupported import, list every one the script makes (stderr)."""
    from .check import report

    try:
        lines = report(script)
    except SyntaxError:
        return
    if len(lines) > 1:
        print(
            f"{script} imports {len(lines)} neon names neon_torch does not provide:",
            file=sys.stderr,
        )
        for line in lines:
            print(f"  {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.script):
        raise FileNotFoundError(f"{args.script}: no such file")
    if args.nproc != 1:  # every torchrun worker runs this command with one process
        from ..distributed import launch

        command = ["run", args.script, *args.args]
        return launch("neon_torch.cli", args.nproc, command, module=True).returncode
    if args.script.endswith((".yaml", ".yml")):
        from .yaml_experiment import run_yaml

        try:
            return run_yaml(args.script, list(args.args))
        except SystemExit as err:
            return _exit_code(err)
    from .. import compat

    saved_argv, saved_path = sys.argv[:], sys.path[:]
    compat.install()
    sys.argv = [args.script, *args.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.script)))
    try:
        runpy.run_path(args.script, run_name="__main__")
    except SystemExit as err:
        return _exit_code(err)
    except compat.NeonNameError:
        _report_all(args.script)
        raise
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        compat.uninstall()
    return 0
