"""The GAN loop against the real neon 2.6 runs in ``tests/data/binary_gan/gan_*``
(written by ``tests/golden/binary_gan/make_fixtures.py``).

A fully connected generator (Affine + BatchNorm) and discriminator trained for 2 epochs of 5
minibatches: ``GANCost('modified')`` with Adam and k=1, and ``GANCost('wasserstein')`` with
RMSProp, k=2 and weight clipping. numpy's global stream, neon's noise source, is seeded as
neon's run seeded it, so the noise, the seeded weights, every parameter after every
minibatch, ``cost_dis``, the generator counters and the epoch costs are compared.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Constant, Gaussian  # noqa: F401 - eval'ed from the fixture
from neon_torch.layers import (  # noqa: F401 - eval'ed from the fixture
    Affine,
    GeneralizedGANCost,
    GenerativeAdversarial,
    Sequential,
)
from neon_torch.models import GAN
from neon_torch.optimizers import Adam, RMSProp  # noqa: F401 - eval'ed from the fixture
from neon_torch.transforms import GANCost, Logistic, Rectlin, Tanh  # noqa: F401 - eval'ed

DATA = Path(__file__).parent.parent / "data" / "binary_gan"
CASES = ["gan_modified", "gan_wasserstein"]
RTOL = 1e-5


def _load(case: str) -> tuple[Any, dict]:
    return np.load(DATA / f"{case}.npz"), json.loads((DATA / f"{case}.json").read_text())


class _Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[np.ndarray]] = {}
        self.totals: list[float] = []

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int):
        keep = self.values.setdefault
        keep("cost_dis", []).append(np.array(model.cost_dis, dtype=np.float32))
        keep("gen_iter", []).append(np.array(model.gen_iter))
        keep("last_gen_batch", []).append(np.array(model.last_gen_batch))
        for layer in model.layers_to_optimize:
            for i, ((param, _), _) in enumerate(layer.get_params()):
                keep(f"param_after_mb/{layer.name}/{i}", []).append(param.get().copy())

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        self.totals.append(float(model.total_cost[0, 0]))


@functools.cache
def run_case(case: str) -> dict[str, Any]:
    ref, spec = _load(case)
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    x = ref["X_train"]
    train = ArrayIterator(x, np.zeros(len(x), dtype=np.int64), nclass=2)
    layers = GenerativeAdversarial(
        generator=Sequential(eval(spec["generator_src"]), name="Generator"),
        discriminator=Sequential(eval(spec["discriminator_src"]), name="Discriminator"),
    )
    model = GAN(
        layers=layers,
        noise_dim=tuple(spec["noise_dim"]),
        k=spec["k"],
        wgan_param_clamp=spec["clamp"],
    )
    cost = eval(spec["cost_src"])
    np.random.seed(spec["noise_seed"])
    model.initialize(train, cost)
    init = {
        f"{layer.name}/{i}": param.get().copy()
        for layer in model.layers_to_optimize
        for i, ((param, _), _) in enumerate(layer.get_params())
    }
    z0 = model.z0.detach().numpy().T.copy()  # neon layout (features, batch)
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
        "z0": z0,
        "recorder": recorder,
        "model_str": str(model),
        "names": [layer.name for layer in model.layers_to_optimize],
        "noise_batch": model.noise_batch.get(),
    }


@pytest.mark.parametrize("case", CASES)
def test_seeded_weights_noise_and_model_string(case: str) -> None:
    ref, spec = _load(case)
    run = run_case(case)
    assert run["names"] == spec["optimized_layers_in_order"]
    assert run["model_str"] == spec["model_str"]
    for key, value in run["init"].items():
        np.testing.assert_array_equal(value, ref[f"param_init/{key}"], err_msg=key)
    np.testing.assert_array_equal(run["z0"], ref["z0"])


@pytest.mark.parametrize("case", CASES)
def test_generator_schedule(case: str) -> None:
    ref, _ = _load(case)
    values = run_case(case)["recorder"].values
    for key in ("gen_iter", "last_gen_batch"):
        np.testing.assert_array_equal(np.stack(values[key]), ref[key], err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_costs(case: str) -> None:
    ref, _ = _load(case)
    run = run_case(case)
    got = np.stack(run["recorder"].values["cost_dis"])
    np.testing.assert_allclose(got, ref["cost_dis"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(run["recorder"].totals, ref["total_cost"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_every_parameter_after_every_minibatch(case: str) -> None:
    ref, _ = _load(case)
    values = run_case(case)["recorder"].values
    keys = [k for k in ref.files if k.startswith("param_after_mb/")]
    assert keys and set(keys) == {k for k in values if k.startswith("param_after_mb/")}
    for key in keys:
        expected = ref[key]
        got = np.stack(values[key])
        for step in range(expected.shape[0]):
            atol = RTOL * max(float(np.abs(expected[step]).max()), 1.0)
            np.testing.assert_allclose(
                got[step], expected[step], rtol=1e-4, atol=atol, err_msg=f"{key} mb {step}"
            )


@pytest.mark.parametrize("case", CASES)
def test_generated_batch_on_fixed_noise(case: str) -> None:
    ref, _ = _load(case)
    np.testing.assert_allclose(
        run_case(case)["noise_batch"], ref["noise_batch"], rtol=1e-4, atol=1e-5
    )
