"""Binarized networks against the real neon 2.6 run in ``tests/data/binary_gan/binary.*``
(written by ``tests/golden/binary_gan/make_fixtures.py``).

Three BinaryAffine layers (ShiftBatchNorm, Sign) trained with SquareHingeLoss and a
MultiOptimizer of ShiftAdaMax for 12 steps: every cost, gradient, parameter and running
statistic after every step, the eval outputs and neon's own ``.prm``; and Sign and
SquareHingeLoss on their own.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Uniform  # noqa: F401 - eval'ed from the fixture
from neon_torch.layers import BinaryAffine, GeneralizedCost  # noqa: F401 - eval'ed
from neon_torch.models import Model
from neon_torch.optimizers import MultiOptimizer, ShiftAdaMax, ShiftSchedule  # noqa: F401
from neon_torch.transforms import Identity, Misclassification, Sign, SquareHingeLoss  # noqa: F401

DATA = Path(__file__).parent.parent / "data" / "binary_gan"
RTOL = 1e-5


def _load() -> tuple[Any, dict]:
    return np.load(DATA / "binary.npz"), json.loads((DATA / "binary.json").read_text())


class _Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []
        self.values: dict[str, list[np.ndarray]] = {}

    def _keep(self, key: str, value: Any) -> None:
        self.values.setdefault(key, []).append(value.get().copy())

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int):
        self.costs.append(model.cost.cost.item())
        for layer in model.layers_to_optimize:
            for i, ((param, grad), _) in enumerate(layer.get_params()):
                self._keep(f"grad_mb/{layer.name}/{i}", grad)
                self._keep(f"param_after_mb/{layer.name}/{i}", param)
            if hasattr(layer, "gvar"):
                self._keep(f"gmean_after_mb/{layer.name}", layer.gmean)
                self._keep(f"gvar_after_mb/{layer.name}", layer.gvar)


@functools.cache
def run_binary() -> dict[str, Any]:
    ref, spec = _load()
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"])
    evalset = ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"])
    model = Model(eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    init = {
        f"{layer.name}/{i}": param.get().copy()
        for layer in model.layers_to_optimize
        for i, ((param, _), _) in enumerate(layer.get_params())
    }
    recorder = _Recorder()
    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(recorder)
    model.fit(
        train,
        optimizer=eval(spec["optimizer_src"]),
        num_epochs=spec["epochs"],
        cost=cost,
        callbacks=callbacks,
    )
    return {
        "init": init,
        "recorder": recorder,
        "model_str": str(model),
        "names": [layer.name for layer in model.layers_to_optimize],
        "outputs": model.get_outputs(evalset),
        "misclass": float(model.eval(evalset, metric=Misclassification())[0]),
    }


def test_seeded_weights_are_neons() -> None:
    ref, spec = _load()
    run = run_binary()
    assert run["names"] == spec["optimized_layers_in_order"]
    for key, value in run["init"].items():
        np.testing.assert_array_equal(value, ref[f"param_init/{key}"], err_msg=key)


def test_model_string() -> None:
    assert run_binary()["model_str"] == _load()[1]["model_str"]


def test_cost_of_every_step() -> None:
    ref, _ = _load()
    np.testing.assert_allclose(run_binary()["recorder"].costs, ref["cost_per_minibatch"], rtol=RTOL)


@pytest.mark.parametrize("kind", ["grad_mb", "param_after_mb", "gmean_after_mb", "gvar_after_mb"])
def test_every_step(kind: str) -> None:
    """Gradients (summed over the batch), parameters and BatchNorm running statistics after
    each of the 12 steps; atol 1e-5 of the largest value (float32 summation order, which
    ShiftAdaMax's power-of-two rounding can magnify on near-zero gradients)."""
    ref, _ = _load()
    values = run_binary()["recorder"].values
    keys = [k for k in ref.files if k.startswith(kind + "/")]
    assert keys and set(keys) == {k for k in values if k.startswith(kind + "/")}
    for key in keys:
        expected = ref[key]
        got = np.stack(values[key])
        assert got.shape == expected.shape, key
        for step in range(expected.shape[0]):
            atol = RTOL * max(float(np.abs(expected[step]).max()), 1.0)
            np.testing.assert_allclose(
                got[step], expected[step], rtol=RTOL, atol=atol, err_msg=f"{key} step {step}"
            )


def test_eval_outputs_and_metric() -> None:
    ref, spec = _load()
    run = run_binary()
    np.testing.assert_allclose(run["outputs"], ref["outputs_eval"], rtol=RTOL, atol=1e-5)
    assert run["misclass"] == pytest.approx(spec["misclassification"])


def test_neons_prm_loads_and_infers_as_neon() -> None:
    ref, spec = _load()
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    evalset = ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"])
    model = Model(str(DATA / "binary.prm"))
    model.initialize(evalset)
    assert str(model) == spec["model_str"]
    np.testing.assert_allclose(
        model.get_outputs(evalset), ref["outputs_eval"], rtol=RTOL, atol=1e-5
    )


def test_sign_forward_and_straight_through_backward() -> None:
    ref, _ = _load()
    x = torch.tensor(ref["sign/x"].T, requires_grad=True)  # batch-first
    sign = Sign()
    y = sign(x)
    np.testing.assert_array_equal(y.detach().numpy().T, ref["sign/y"])
    y.backward(torch.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy().T, ref["sign/bprop"])
    np.testing.assert_array_equal(sign.bprop(y).numpy().T, ref["sign/bprop"])
    plain = sign.to_torch()  # the plain-torch form
    np.testing.assert_array_equal(plain(x.detach()).numpy().T, ref["sign/y"])


@pytest.mark.parametrize("margin", [1, 2])
def test_square_hinge_loss(margin: int) -> None:
    ref, _ = _load()
    y, t = torch.tensor(ref["hinge/y"].T), torch.tensor(ref["hinge/t"].T)
    hinge = SquareHingeLoss(margin=margin)
    np.testing.assert_allclose(hinge(y, t).numpy(), ref[f"hinge/m{margin}/cost"][0], rtol=1e-6)
    np.testing.assert_allclose(
        hinge.bprop(y, t).numpy().T, ref[f"hinge/m{margin}/delta"], rtol=1e-6, atol=1e-7
    )
