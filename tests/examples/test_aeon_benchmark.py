"""benchmarks/aeon_loader.py runs end to end in its CI-sized form (a smoke test, not a timing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_aeon_loader_benchmark_quick() -> None:
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)}
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "aeon_loader.py"), "--quick", "--workers", "0"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=300,
    ).stdout
    rates = re.findall(r"([\d.]+) images/s", out)
    assert len(rates) == 2 and all(float(r) > 0 for r in rates)
    assert re.search(r"ratio \(neon_torch / plain\): [\d.]+", out)
