"""The neon-style example scripts run with ``-e 1`` on the embedded demo data, through
``neon-torch run`` and through the shim, writing their ``.prm`` and callback files."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import h5py
import pytest

from neon_torch import compat
from neon_torch.cli import main
from neon_torch.models import Model

from ..helpers.legacy import isolated_loggers  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_loggers")

EXAMPLES = Path(__file__).parents[2] / "examples"
FAST = [
    "mnist_mlp",
    "early_stopping",
    "convnet",
    "lstm_classifier",
    "char_lm",
    "autoencoder",
    "multi_optimizer",
]
SLOW = ["residual"]


def _argv(tmp_path: Path) -> list[str]:
    return [
        "-e",
        "1",
        "-b",
        "cpu",
        "-r",
        "0",
        "-w",
        str(tmp_path),
        "--no_progress_bar",
        "-s",
        str(tmp_path / "m.prm"),
        "-o",
        str(tmp_path / "cb.h5"),
    ]


def _check(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "cb.h5") as f:
        assert f["time_markers"].attrs["epochs_complete"] == 1
        assert f["cost/train"].shape[0] == f["config"].attrs["total_minibatches"] > 0
    assert Model(str(tmp_path / "m.prm")).epoch_index == 1


def _run_cli(name: str, tmp_path: Path) -> None:
    assert main(["run", str(EXAMPLES / f"{name}.py"), *_argv(tmp_path)]) == 0
    _check(tmp_path)


@pytest.mark.parametrize("name", FAST)
def test_example_via_cli(name: str, tmp_path: Path) -> None:
    _run_cli(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_slow_example_via_cli(name: str, tmp_path: Path) -> None:
    _run_cli(name, tmp_path)


def test_example_via_shim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = EXAMPLES / "mnist_mlp.py"
    monkeypatch.setattr(sys, "argv", [str(script), *_argv(tmp_path)])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    compat.install()
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        compat.uninstall()
    _check(tmp_path)
