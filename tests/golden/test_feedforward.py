"""Feed-forward networks (dense, convolutional, branching) against real neon 2.6 runs.

Fixtures ``mlp/*``, ``conv/*`` and ``containers/*``: each case is rebuilt from the neon source
strings in its json sidecar, with the neon_torch classes of the same names, trained as neon was,
and compared
number by number: seeded initial weights, cost per minibatch, gradients and weights after the
first steps, final weights, saved optimizer states, outputs, metrics, per-layer outputs,
``str(model)`` and the description.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import numpy as np
import pytest

from neon_torch.backends import NervanaObject, gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Constant, Gaussian  # noqa: F401 - eval'ed from the fixture
from neon_torch.layers import (  # noqa: F401
    LRN,
    Activation,
    Affine,
    BranchNode,
    Conv,
    Deconv,
    Dropout,
    GeneralizedCost,
    MergeBroadcast,
    MergeSum,
    Multicost,
    Pooling,
    SingleOutputTree,
    SkipNode,
)
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum  # noqa: F401
from neon_torch.transforms import (  # noqa: F401
    Accuracy,
    CrossEntropyBinary,
    CrossEntropyMulti,
    Logistic,
    LogLoss,
    Misclassification,
    Rectlin,
    Softmax,
    Tanh,
    TopKMisclassification,
)

from ..conftest import NEON_REF, load_case
from ..helpers.golden import (
    Recorder,
    check_initial_weights,
    check_per_layer_outputs,
    keyed,
    structure,
)

CASES = [
    ("mlp", "mlp_gdm"),
    ("mlp", "mlp_bias_softmax"),
    ("mlp", "mlp_bn_dropout"),
    ("conv", "conv"),
    ("conv", "conv_deconv"),
    ("conv", "conv_lrn"),
    ("containers", "merge_stack"),
    ("containers", "merge_depth"),
    ("containers", "residual"),
    ("containers", "tree_branch"),
]


def _neon_params(layer: Any) -> list[np.ndarray]:
    """Optimized params of a layer, neon layout, in neon's get_params order."""
    values = layer.neon_params()
    keys = ["beta", "gamma"] if "beta" in values else list(values)
    return [values[k] for k in keys]


def _run(group: str, case: str) -> dict[str, Any]:
    ref, spec = load_case(group, case)
    be = gen_backend("cpu", rng_seed=spec["rng_seed"], batch_size=spec["batch_size"])
    lshape = tuple(spec["lshape"]) if spec.get("lshape") else None
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"], lshape=lshape)
    evalset = ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"], lshape=lshape)
    model = Model(layers=eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    init = {layer.name: _neon_params(layer) for layer in model.layers_to_optimize}
    recorder = Recorder()
    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(recorder)
    model.fit(train, cost, eval(spec["optimizer_src"]), spec["epochs"], callbacks)
    return {
        "group": group,
        "be": be,
        "ref": ref,
        "spec": spec,
        "model": model,
        "init": init,
        "recorder": recorder,
        "outputs": model.get_outputs(evalset),
        "metrics": {m: model.eval(evalset, eval(m)) for m in spec["metrics"]},
    }


@pytest.fixture(scope="module", params=CASES, ids=[case for _, case in CASES])
def run(request: pytest.FixtureRequest) -> Any:
    gc.collect()  # neon names layers by live-object counters: start like a fresh process
    result = _run(*request.param)
    yield result
    result.clear()  # failed tests' tracebacks must not keep the model (and its names) alive


def test_initial_weights_are_bit_identical(run: dict) -> None:
    check_initial_weights(run["ref"], run["init"])


def test_cost_trace_and_epoch_costs(run: dict) -> None:
    ref = run["ref"]
    np.testing.assert_allclose(run["recorder"].costs, ref["cost_per_minibatch"], rtol=1e-5)
    np.testing.assert_allclose(run["recorder"].epoch_costs, ref["epoch_mean_cost"], rtol=1e-5)


def test_gradients_and_weights_after_each_recorded_step(run: dict) -> None:
    ref, rec = run["ref"], run["recorder"]
    for (name, index), steps in keyed(ref, "grad_mb").items():
        for step, value in enumerate(steps):
            got = rec.grads[step][name][index].reshape(value.shape)
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-6, err_msg=f"{name} {step}")
    for (name, index), steps in keyed(ref, "param_after_mb").items():
        for step, value in enumerate(steps):
            got = rec.params[step][name][index].reshape(value.shape)
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-7, err_msg=f"{name} {step}")


def test_final_weights(run: dict) -> None:
    layers = {layer.name: layer for layer in run["model"].layers_to_optimize}
    expected = keyed(run["ref"], "param_final")
    assert expected
    for (name, index), value in expected.items():
        got = _neon_params(layers[name])[index]
        np.testing.assert_allclose(got, value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_saved_states_and_running_statistics_match_trained_prm(run: dict) -> None:
    from ..helpers.prm import load_prm

    saved = load_prm(NEON_REF / run["group"] / f"{run['spec']['case']}.prm")
    desc = run["model"].get_description(get_weights=True, keep_states=True)
    ours, theirs = list(_layer_entries(desc["model"])), list(_layer_entries(saved["model"]))
    assert [(e["type"], e["config"]["name"]) for e in ours] == [
        (e["type"], e["config"]["name"]) for e in theirs
    ]
    for mine, ref in zip(ours, theirs, strict=True):
        assert sorted(mine.get("params", {})) == sorted(ref.get("params", {}))
        for key, value in ref.get("params", {}).items():  # includes gmean / gvar
            np.testing.assert_allclose(mine["params"][key], value, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(
            _flatten(mine.get("states", [])),
            _flatten(ref.get("states", [])),
            rtol=1e-4,
            atol=1e-6,
        )


def _layer_entries(desc: dict) -> Any:
    """Every entry of a description's layer tree, depth-first (containers included)."""
    yield desc
    for child in desc.get("config", {}).get("layers", []) or []:
        yield from _layer_entries(child)


def _flatten(states: Any) -> np.ndarray:
    if isinstance(states, np.ndarray):
        return states.ravel()
    parts = [_flatten(s) for s in states]
    return np.concatenate(parts) if parts else np.zeros(0)


def test_outputs_and_eval_metrics(run: dict) -> None:
    ref, spec = run["ref"], run["spec"]
    np.testing.assert_allclose(run["outputs"], ref["outputs_eval"], rtol=1e-5, atol=1e-6)
    for metric, expected in spec["metrics"].items():
        got = run["metrics"][metric]
        assert got.dtype == np.float32 and got.shape == (len(expected["values"]),)
        np.testing.assert_allclose(got, expected["values"], rtol=1e-5)


def test_per_layer_outputs_of_the_trained_model(run: dict) -> None:
    """neon pushed its first eval minibatch through the trained top-level layers one by one."""
    check_per_layer_outputs(run["ref"], run["model"])


def test_model_string_and_optimized_layer_order(run: dict) -> None:
    spec = run["spec"]
    assert str(run["model"]) == spec["model_str"]
    assert [layer.name for layer in run["model"].layers_to_optimize] == spec[
        "optimized_layers_in_order"
    ]


def test_description_structure_matches_neon(run: dict) -> None:
    path = NEON_REF / run["group"] / f"{run['spec']['case']}_description.json"
    if not path.exists():
        pytest.skip("neon dumped no description for this case")
    expected = json.loads(path.read_text())
    NervanaObject.be = run["be"]  # the model describes the backend in use, as in neon
    got = run["model"].get_description(get_weights=True, keep_states=True)
    assert structure(got) == structure(expected)
