"""Every cost, metric and activation against the real neon 2.6 values in transforms.npz.

The fixture is in neon layout ``(features=6, batch=8)``; neon_torch is batch-first, so arrays are
transposed on the way in and out.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.layers import GeneralizedCost
from neon_torch.transforms import (  # noqa: F401 - names are eval'ed from the fixture
    Accuracy,
    CrossEntropyBinary,
    CrossEntropyMulti,
    Explin,
    Identity,
    Logistic,
    LogLoss,
    MeanSquared,
    Misclassification,
    Normalizer,
    PrecisionRecall,
    Rectlin,
    Rectlinclip,
    SmoothL1Loss,
    Softmax,
    SumSquared,
    Tanh,
    TopKMisclassification,
)

from ..conftest import NEON_REF

REF = np.load(NEON_REF / "transforms.npz")
SPEC = json.loads((NEON_REF / "transforms.json").read_text())


def bf(key: str) -> torch.Tensor:
    """Fixture array ``(F, N)`` -> batch-first tensor ``(N, F)``."""
    return torch.from_numpy(np.ascontiguousarray(REF[key].T))


@pytest.fixture(autouse=True)
def _backend() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=8)


@pytest.mark.parametrize("spec", SPEC["costs"], ids=lambda s: s["costfunc"])
def test_cost_value_per_sample_and_delta(spec: dict) -> None:
    cost = GeneralizedCost(costfunc=eval(spec["costfunc"]))
    cost.initialize(6)
    y, t = bf(spec["y"]), bf(spec["t"])
    value = cost.get_cost(y, t)
    key = spec["key"]
    assert value.shape == (1, 1) and value.dtype == np.float32
    np.testing.assert_allclose(value[0], REF[f"{key}/get_cost"], rtol=1e-6)
    np.testing.assert_allclose(cost.outputs.numpy(), REF[f"{key}/per_sample"][0], rtol=1e-6)
    np.testing.assert_allclose(
        cost.get_errors(y, t).numpy().T, REF[f"{key}/get_errors"], rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("spec", SPEC["metrics"], ids=lambda s: s["key"] + " " + s["metric"])
def test_metric_values(spec: dict) -> None:
    metric = eval(spec["metric"])
    assert metric.metric_names == spec["metric_names"]
    values = np.atleast_1d(np.asarray(metric(bf(spec["y"]), bf(spec["t"])), dtype=np.float32))
    np.testing.assert_allclose(values, REF[spec["key"]], rtol=1e-6, atol=1e-7)
    if f"{spec['key']}/outputs" in REF.files:
        np.testing.assert_allclose(metric.outputs, REF[f"{spec['key']}/outputs"], rtol=1e-6)


@pytest.mark.parametrize("spec", SPEC["activations"], ids=lambda s: s["activation"])
def test_activation_forward_and_neon_backward(spec: dict) -> None:
    act = eval(spec["activation"])
    key = spec["key"]
    x = bf("act_x").requires_grad_(True)
    y = act(x)
    np.testing.assert_allclose(y.detach().numpy().T, REF[f"{key}/fprop"], rtol=1e-6, atol=1e-7)
    # neon's derivative is a function of the output, and autograd must apply exactly it
    expected = REF[f"{key}/bprop_of_output"]
    np.testing.assert_allclose(act.bprop(y.detach()).numpy().T, expected, rtol=1e-6, atol=3e-7)
    upstream = torch.linspace(-1.0, 2.0, x.numel()).reshape(x.shape)
    y.backward(upstream)
    np.testing.assert_allclose(
        x.grad.numpy().T, expected * upstream.numpy().T, rtol=1e-5, atol=3e-7
    )


@pytest.mark.parametrize("spec", SPEC["activations"], ids=lambda s: s["activation"])
def test_activation_converts_to_a_plain_torch_module_with_neons_values(spec: dict) -> None:
    module = eval(spec["activation"]).to_torch()
    assert type(module).__module__.startswith(("torch.nn", "neon_torch.convert.modules"))
    got = module(bf("act_x")).numpy().T
    np.testing.assert_allclose(got, REF[f"{spec['key']}/fprop"], rtol=1e-6, atol=1e-7)


def test_every_activation_neon_torch_provides_is_in_the_fixture() -> None:
    """So that the conversion test above covers every neon activation neon_torch has."""
    from neon_torch.registry import available

    tested = {spec["activation"].split("(")[0] for spec in SPEC["activations"]}
    prefix = "neon.transforms.activation."
    provided = {name[len(prefix) :] for name in available() if name.startswith(prefix)}
    # Sign has its own real-neon fixture and conversion check in test_binary.py
    assert provided and provided - {"Sign"} <= tested and "Sign" in provided
