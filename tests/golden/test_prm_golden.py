"""Every real-neon ``.prm`` loads through the package loader and reproduces neon's outputs.

The loader is generic: a fixture group is covered by listing it in ``GROUPS``; the plain
torch module is checked for the groups in ``TORCH_GROUPS`` (those whose layers implement
``Layer.to_torch``). ``residual.prm`` is one that neon 2.6 itself cannot load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator, Text
from neon_torch.models import Model
from neon_torch.serialization import read_file

from ..conftest import NEON_REF, load_case

GROUPS = ["mlp", "optim", "conv", "containers", "rnn"]
TORCH_GROUPS = ["mlp", "optim", "conv", "containers", "rnn"]
#: trained files whose outputs cannot come from the file alone, and why
NOT_FROM_FILE = {
    "rnn_lstm_sum": "stateful LSTM: outputs depend on the cell state left by training",
}
PRM_FILES = sorted(
    str(p.relative_to(NEON_REF)) for g in GROUPS for p in (NEON_REF / g).glob("*.prm")
)
TRAINED = sorted(
    (g, p.stem)
    for g in GROUPS
    for p in (NEON_REF / g).glob("*.prm")
    if not p.stem.endswith("_init") and p.stem not in NOT_FROM_FILE
)
RTOL, ATOL = 1e-5, 1e-6


def _iterator(ref: Any, spec: dict, tmp: Path) -> Any:
    if "train_text" in spec:  # rnn_charlm: neon's Text iterator over the case's text
        (tmp / "train.txt").write_text(spec["train_text"])
        (tmp / "eval.txt").write_text(spec["eval_text"])
        train = Text(time_steps=spec["time_steps"], path=str(tmp / "train.txt"))
        return Text(spec["time_steps"], str(tmp / "eval.txt"), vocab=train.vocab)
    lshape = tuple(spec["lshape"]) if spec.get("lshape") else None
    return ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"], lshape=lshape)


def test_the_fixture_files_are_found() -> None:
    assert len(PRM_FILES) == 6 + 19 + 6 + 8 + 18
    assert len(TRAINED) == 3 + 18 + 3 + 4 + 9 - 1


@pytest.mark.parametrize("rel", PRM_FILES)
def test_every_prm_loads_and_rebuilds(rel: str) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    loaded = read_file(NEON_REF / rel)
    assert loaded.kind == "pickle" and loaded.is_legacy
    model = Model(str(NEON_REF / rel))
    assert model.initialized
    assert model.epoch_index == loaded.tree["epoch_index"]  # neon keeps the stored value


@pytest.mark.parametrize(("group", "case"), TRAINED)
def test_trained_prm_reproduces_outputs_eval(group: str, case: str, tmp_path: Path) -> None:
    ref, spec = load_case(group, case)
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    model = Model(str(NEON_REF / group / f"{case}.prm"))
    outputs = model.get_outputs(_iterator(ref, spec, tmp_path))
    np.testing.assert_allclose(outputs, ref["outputs_eval"], rtol=RTOL, atol=ATOL)
    if group not in TORCH_GROUPS:
        return
    plain = model.to_torch()
    if "X_eval" not in ref:  # rnn_charlm: the minibatches of neon's Text iterator
        with torch.no_grad():
            y = torch.cat([plain(x) for x, _ in _iterator(ref, spec, tmp_path)]).numpy()
        np.testing.assert_allclose(y, ref["outputs_eval"], rtol=RTOL, atol=ATOL)
        return
    x = torch.from_numpy(ref["X_eval"]).to(torch.float32)
    if spec.get("lshape"):  # batch-first images, as Model.fprop takes them
        x = x.reshape(x.shape[0], *spec["lshape"])
    with torch.no_grad():
        y = plain(x)
    y = y.reshape(y.shape[0], -1).numpy()
    np.testing.assert_allclose(y, ref["outputs_eval"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", ["optim_gdm_nesterov", "optim_adam", "optim_sched_step"])
def test_optim_init_prm_starts_optimizer_cases(case: str, tmp_path: Path) -> None:
    """As neon's recipe: Model('optim_init.prm'), epoch_index reset to 0, fit, compare."""
    from neon_torch.layers import GeneralizedCost  # noqa: F401 - eval'ed from the fixture
    from neon_torch.optimizers import Adam, GradientDescentMomentum, StepSchedule  # noqa: F401
    from neon_torch.transforms import CrossEntropyMulti  # noqa: F401

    ref, spec = load_case("optim", case)
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"])
    model = Model(str(NEON_REF / "optim" / "optim_init.prm"))
    assert model.epoch_index == 1
    model.epoch_index = 0
    cost = eval(spec["cost_src"])
    model.fit(train, cost=cost, optimizer=eval(spec["optimizer_src"]), num_epochs=5)
    for layer, name in zip(
        model.layers_to_optimize, spec["optimized_layers_in_order"], strict=True
    ):
        final = next(iter(layer.neon_params().values()))
        expected = ref[f"param_final/{name}/0"]
        np.testing.assert_allclose(final, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())
    outputs = model.get_outputs(_iterator(ref, spec, tmp_path))
    np.testing.assert_allclose(outputs, ref["outputs_eval"], rtol=RTOL, atol=1e-7)


def _arrays(desc: Any, path: str = "") -> dict[str, np.ndarray]:
    """Every ``params``/``states`` array of a layer tree, by path."""
    out: dict[str, np.ndarray] = {}
    if isinstance(desc, np.ndarray):
        out[path] = desc
    elif isinstance(desc, dict):
        for key in ("params", "states", "config", "layers"):
            if key in desc:
                out.update(_arrays(desc[key], f"{path}.{key}"))
        if "params" not in desc:
            for key, value in desc.items():
                if isinstance(value, np.ndarray):
                    out[f"{path}.{key}"] = value
    elif isinstance(desc, (list, tuple)):
        for i, item in enumerate(desc):
            out.update(_arrays(item, f"{path}.{i}"))
    return out


@pytest.mark.parametrize("rel", PRM_FILES)
def test_neon_file_round_trips_through_the_neon_torch_format(rel: str, tmp_path: Path) -> None:
    """Model(neon file) -> save_params -> the same weights and optimizer states, bit for bit."""
    gen_backend("cpu", rng_seed=0, batch_size=16)
    Model(str(NEON_REF / rel)).save_params(tmp_path / "copy.prm")
    original = _arrays(read_file(NEON_REF / rel).tree["model"])
    copy = _arrays(read_file(tmp_path / "copy.prm").tree["model"])
    assert original.keys() == copy.keys() and original
    for key, value in original.items():
        np.testing.assert_array_equal(copy[key], value, err_msg=key)
