"""``neon-torch convert x.prm x.pt2`` on neon-trained models: the exported program takes any
batch size and gives neon's ``get_outputs`` (fixtures ``neon_ref`` and ``holdout``); a stateful
recurrent model is refused instead of being exported as a zero-state one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.cli import main
from neon_torch.errors import UnsupportedNeonFeature

from ..conftest import NEON_REF
from .test_holdout import HOLDOUT

CASES = [
    NEON_REF / "mlp" / "mlp_gdm",
    NEON_REF / "mlp" / "mlp_bn_dropout",
    NEON_REF / "conv" / "conv",
    NEON_REF / "conv" / "conv_deconv",
    NEON_REF / "conv" / "conv_lrn",
    NEON_REF / "containers" / "merge_depth",
    NEON_REF / "containers" / "residual",
    NEON_REF / "containers" / "tree_branch",
    NEON_REF / "rnn" / "rnn_lstm_last",
    NEON_REF / "rnn" / "rnn_gru_sum",
    NEON_REF / "rnn" / "rnn_deepbilstm",
    HOLDOUT / "merge3_conv_alphas",
    HOLDOUT / "merge4_deep_inner",
    HOLDOUT / "multistream_lshape",
    HOLDOUT / "deepbilstm3_sum",
]


def _inputs(base: Path) -> list[np.ndarray]:
    """The eval inputs in the layout the plain module reads (images ``(N, C, H, W)``)."""
    ref, spec = np.load(f"{base}.npz"), json.loads(Path(f"{base}.json").read_text())
    keys = ["X_eval"] if "X_eval" in ref.files else sorted(k for k in ref.files if "X_eval/" in k)
    lshape = spec.get("lshape")
    return [ref[k].reshape(len(ref[k]), *lshape) if lshape else ref[k] for k in keys]


@pytest.mark.parametrize("base", CASES, ids=[p.name for p in CASES])
def test_pt2_takes_any_batch_size_and_gives_neons_outputs(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.pt2"
    assert main(["convert", f"{base}.prm", str(out), "--quiet"]) == 0
    program = torch.export.load(out).module()
    xs = _inputs(base)
    expected = np.load(f"{base}.npz")["outputs_eval"]
    for size in (1, 3, len(xs[0])):
        batch = [torch.from_numpy(x[:size]).float() for x in xs]
        got = program(batch if len(batch) > 1 else batch[0]).detach().numpy()
        np.testing.assert_allclose(got, expected[:size], rtol=1e-5, atol=1e-6, err_msg=str(size))


def test_stateful_recurrent_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """neon's default reset_cells=False carries the state from call to call; a plain module
    does not, so converting must fail rather than give other outputs."""
    from neon_torch.convert import to_torch_module
    from neon_torch.models import Model

    prm = NEON_REF / "rnn" / "rnn_lstm_sum.prm"
    assert main(["convert", str(prm), str(tmp_path / "m.pt2"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "reset_cells" in err and "Traceback" not in err and not (tmp_path / "m.pt2").exists()
    model = Model(str(prm))
    with pytest.raises(UnsupportedNeonFeature, match="LSTM_0"):
        to_torch_module(model)
    for layer in model.layers.modules():  # the documented way to get the zero-state module
        if hasattr(layer, "reset_cells"):
            layer.reset_cells = True
    assert isinstance(to_torch_module(model), torch.nn.Module)
