"""The benchmarks run end to end in their CI-sized form (a smoke test, not a timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_run_all_quick_reports_every_case() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for case in ("MLP (mnist_mlp)", "convnet (cifar10_conv)", "LSTM (imdb_lstm)"):
        rows = [line for line in out.stdout.splitlines() if line.startswith(f"| {case} |")]
        assert len(rows) == 2, out.stdout  # the hand-written loop and neon_torch's fit
        base, ours = (float(row.split("|")[3].replace(",", "")) for row in rows)
        ratio = float(rows[1].split("|")[4])
        assert float(rows[0].split("|")[4]) == 1.0  # the baseline is the unit
        assert ratio == pytest.approx(ours / base, rel=0.01, abs=0.002)  # the ratio is ours/base
    assert "worst ratio" in out.stdout and "convert / pickle.load" in out.stdout


def test_binary_gan_quick_reports_both_cases() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "binary_gan.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith(("| binary", "| GAN"))]
    assert len(rows) == 2, out.stdout
    for row in rows:
        cells = row.split("|")
        assert float(cells[4]) > 0.0, row  # a time per epoch was measured and parsed
