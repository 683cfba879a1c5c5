"""Run loads in child processes (see :mod:`._worker`), surviving crashes and hangs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


def run_cases(
    cases: list[tuple[str, str]],
    workdir: Path,
    reference: str | None = None,
    victim: Path | None = None,
    timeout_s: float = 300,
) -> list[dict[str, Any]]:
    """One result per case; a case during which the child died is reported as ``crash``,
    then the child is restarted after it."""
    workdir.mkdir(parents=True, exist_ok=True)
    if victim is None:
        victim = workdir / "victim.txt"
        victim.write_text("keep me")
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    results: list[dict[str, Any]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    while len(results) < len(cases):
        job = workdir / "job.json"
        job.write_text(
            json.dumps(
                {
                    "cases": cases,
                    "start": len(results),
                    "reference": reference,
                    "victim": str(victim),
                    "scratch": str(scratch),
                }
            )
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "tests.security._worker", str(job)],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
            out, rc = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            rc = -9
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results.extend(lines)
        if len(results) < len(cases):
            what = "hang" if rc == -9 else "crash"
            results.append({"i": len(results), "outcome": what, "error": f"exit {rc}"})
    return results
