"""Launching a script as a data-parallel job: ``torchrun`` with N processes on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["launch", "torchrun_command"]


def torchrun_command(
    script: str | os.PathLike[str], nproc: int, args: Sequence[str] = (), module: bool = False
) -> list[str]:
    """The command line that runs ``script args`` under torchrun with ``nproc`` processes.

    It uses the current interpreter's ``torch.distributed.run`` (torchrun) in standalone mode
    (a rendezvous on a free local port, one node). ``module=True``: ``script`` is a module
    name run as ``python -m script``.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be an int >= 1, got {nproc!r}.")
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        *(["-m"] if module else []),
        os.fspath(script),
        *args,
    ]


def launch(
    script: str | os.PathLike[str],
    nproc: int,
    args: Sequence[str] = (),
    *,
    module: bool = False,
    timeout: float | None = None,
    capture_output: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``script`` under torchrun with ``nproc`` processes and wait for it.

    The script needs no change: ``gen_backend`` starts the process group (NCCL on CUDA, gloo
    on the CPU) and ``Model.fit`` / ``eval`` / ``get_outputs`` work data parallel
    (``module=True``: ``script`` is a module name, run as ``python -m``). Returns the
    finished process (``returncode``; ``stdout``/``stderr`` as text with ``capture_output``).
    With ``timeout`` (seconds) the whole job (torchrun and its workers) is stopped when it runs
    longer, and ``subprocess.TimeoutExpired`` is raised.

    Raises:
        FileNotFoundError: ``script`` does not exist.
        ValueError: ``nproc`` is not an int >= 1.
    """
    if not module and not os.path.isfile(script):
        raise FileNotFoundError(f"{os.fspath(script)}: no such script to launch")
    pipe = subprocess.PIPE if capture_output else None
    with subprocess.Popen(
        torchrun_command(script, nproc, args, module),
        stdout=pipe,
        stderr=pipe,
        text=True,
        start_new_session=True,  # its own process group, so a timeout stops the workers too
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
