"""``neon-torch convert`` and ``neon-torch inspect``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from neon_torch.cli import main
from neon_torch.convert import to_state_dict

from ..conftest import NEON_REF, load_case

PRM = NEON_REF / "mlp" / "mlp_bn_dropout.prm"


def test_convert_to_state_dict_formats(tmp_path: Path) -> None:
    assert main(["convert", str(PRM), str(tmp_path / "m.pt"), "--quiet"]) == 0
    assert main(["convert", str(PRM), str(tmp_path / "m.safetensors"), "--quiet"]) == 0
    pt = torch.load(tmp_path / "m.pt")
    st = load_file(tmp_path / "m.safetensors")
    expected = to_state_dict(str(PRM))
    assert list(pt) == list(expected) and sorted(st) == sorted(expected)
    assert "Linear_0_bnorm.running_var" in pt
    for key, value in expected.items():
        assert torch.equal(pt[key], value) and torch.equal(st[key], value)


def test_convert_to_exported_program_and_prm(tmp_path: Path) -> None:
    ref, _ = load_case("mlp", "mlp_bn_dropout")
    assert main(["convert", str(PRM), str(tmp_path / "m.pt2"), "--quiet"]) == 0
    program = torch.export.load(tmp_path / "m.pt2")
    x = torch.from_numpy(ref["X_eval"][:1]).float()
    np.testing.assert_allclose(
        program.module()(x).detach().numpy(), ref["outputs_eval"][:1], rtol=1e-5, atol=1e-6
    )
    assert main(["convert", str(PRM), str(tmp_path / "m.prm"), "--quiet"]) == 0
    assert main(["inspect", str(tmp_path / "m.prm")]) == 0


def test_inspect_prints_layers_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(PRM)]) == 0
    out = capsys.readouterr().out
    assert "(pickle)" in out and "epoch_index: 3" in out and "GradientDescentMomentum" in out
    assert "Linear Linear_0  [W (32, 20) float32]" in out
    assert f"parameters: {32 * 20 + 4 * 32 + 10 * 32}" in out


def test_user_errors_exit_1_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.prm"
    bad.write_bytes(b"not a prm")
    assert main(["inspect", str(bad)]) == 1
    assert main(["convert", str(PRM), str(tmp_path / "x.onnx")]) == 1
    assert main(["convert", str(tmp_path / "missing.prm"), str(tmp_path / "x.pt")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "bad.prm" in err and ".onnx" in err
    with pytest.raises(SystemExit) as usage:
        main(["convert"])
    assert usage.value.code == 2
