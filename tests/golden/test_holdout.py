"""Held-out real-neon cases (fixtures ``tests/data/holdout``, written under neon 2.6 by
``holdout/make_fixtures.py``): shapes of models the public fixtures do not cover. Each case is
rebuilt from the neon source strings in its json sidecar, trained as neon trained it and
compared number by number: seeded initial weights, the cost of every minibatch, gradients and
weights after the first steps, final weights, ``get_outputs``, eval metrics and ``str(model)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.initializers import (  # noqa: F401 - eval'ed from the fixture
    Constant,
    Gaussian,
    GlorotUniform,
    Uniform,
)
from neon_torch.layers import (  # noqa: F401
    LSTM,
    Activation,
    Affine,
    BatchNorm,
    Conv,
    DeepBiLSTM,
    GeneralizedCost,
    LookupTable,
    MergeBroadcast,
    MergeMultistream,
    Pooling,
    RecurrentLast,
    RecurrentMean,
    RecurrentSum,
)
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum  # noqa: F401
from neon_torch.transforms import (  # noqa: F401
    CrossEntropyMulti,
    Logistic,
    Misclassification,
    Rectlin,
    Softmax,
    Tanh,
)

from ..helpers.golden import Recorder, check_initial_weights, fresh_name_counters, keyed

HOLDOUT = Path(__file__).parent.parent / "data" / "holdout"

FF_CASES = [
    "merge3_linear",
    "merge4_deep",
    "merge4_deep_inner",
    "merge3_alphas",
    "merge2_alphas",
    "merge3_conv",
    "merge3_conv_alphas",
    "merge3_mixed",
    "merge3_pool_last",
    "merge3_bn_last",
    "multistream_stack",
    "multistream_lshape",
    "deepbilstm3_last",
    "deepbilstm3_sum",
    "deepbilstm4_mean",
    "deepbilstm2_wide_embed",
    "deepbilstm2_lstm_top",
    "h5_callbacks",
]


def load_holdout(case: str) -> tuple[Any, dict]:
    return np.load(HOLDOUT / f"{case}.npz"), json.loads((HOLDOUT / f"{case}.json").read_text())


def _x(ref: Any, name: str) -> Any:
    """The fixture's inputs: one array, or the list ``name/0``, ``name/1``, ... of streams."""
    if name in ref.files:
        return ref[name]
    return [ref[f"{name}/{i}"] for i in range(sum(k.startswith(name + "/") for k in ref.files))]


def _neon_params(layer: Any) -> list[np.ndarray]:
    values = layer.neon_params()
    keys = ["beta", "gamma"] if "beta" in values else list(values)
    return [values[k] for k in keys]


def _train(case: str) -> dict[str, Any]:
    ref, spec = load_holdout(case)
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    lshape = tuple(spec["lshape"]) if spec.get("lshape") else None
    train = ArrayIterator(_x(ref, "X_train"), ref["y_train"], nclass=spec["nclass"], lshape=lshape)
    evalset = ArrayIterator(_x(ref, "X_eval"), ref["y_eval"], nclass=spec["nclass"], lshape=lshape)
    model = Model(layers=eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    init = {layer.name: _neon_params(layer) for layer in model.layers_to_optimize}
    recorder = Recorder()
    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(recorder)
    model.fit(train, cost, eval(spec["optimizer_src"]), spec["epochs"], callbacks)
    return {
        "ref": ref,
        "spec": spec,
        "evalset": evalset,
        "model": model,
        "init": init,
        "recorder": recorder,
        "outputs": model.get_outputs(evalset),
        "metrics": {m: model.eval(evalset, eval(m)) for m in spec["metrics"]},
    }


@pytest.fixture(scope="module", params=FF_CASES)
def run(request: pytest.FixtureRequest) -> Any:
    fresh_name_counters()  # neon names layers by live-object counters: start like a fresh process
    result = _train(request.param)
    yield result
    result.clear()


def test_initial_weights_are_bit_identical(run: dict) -> None:
    check_initial_weights(run["ref"], run["init"])


def test_cost_trace(run: dict) -> None:
    np.testing.assert_allclose(run["recorder"].costs, run["ref"]["cost_per_minibatch"], rtol=1e-5)


def test_gradients_and_weights_after_the_first_steps(run: dict) -> None:
    ref, rec = run["ref"], run["recorder"]
    grads = keyed(ref, "grad_mb")
    assert grads
    for (name, index), steps in grads.items():
        for step, value in enumerate(steps):
            got = rec.grads[step][name][index].reshape(value.shape)
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-6, err_msg=f"{name} {step}")
    for (name, index), steps in keyed(ref, "param_after_mb").items():
        for step, value in enumerate(steps):
            got = rec.params[step][name][index].reshape(value.shape)
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-7, err_msg=f"{name} {step}")


def test_final_weights_outputs_and_metrics(run: dict) -> None:
    ref, spec = run["ref"], run["spec"]
    layers = {layer.name: layer for layer in run["model"].layers_to_optimize}
    expected = keyed(ref, "param_final")
    assert expected
    for (name, index), value in expected.items():
        got = _neon_params(layers[name])[index].reshape(value.shape)
        np.testing.assert_allclose(got, value, rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(run["outputs"], ref["outputs_eval"], rtol=1e-5, atol=1e-6)
    for metric, values in spec["metric_values"].items():
        np.testing.assert_allclose(run["metrics"][metric], values, rtol=1e-5)


def test_model_string_and_optimized_layer_order(run: dict) -> None:
    spec = run["spec"]
    assert str(run["model"]) == spec["model_str"]
    names = [layer.name for layer in run["model"].layers_to_optimize]
    assert names == spec["optimized_layers_in_order"]


def _h5_nodes(path: Path) -> dict[str, Any]:
    """Every group and dataset of an HDF5 file: kind, shape, dtype and attributes."""
    import h5py

    nodes: dict[str, Any] = {}
    with h5py.File(path) as f:

        def visit(name: str, obj: Any) -> None:
            attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in obj.attrs.items()}
            if isinstance(obj, h5py.Dataset):
                nodes[name] = ("dataset", obj.shape, str(obj.dtype), attrs, obj[()])
            else:
                nodes[name] = ("group", attrs)

        f.visititems(visit)
    return nodes


def test_callback_file_has_neons_datasets_and_attributes(tmp_path: Path) -> None:
    """``Callbacks(output_file=...)`` (``-o``): the same groups, datasets, shapes, dtypes and
    attributes as neon's file, and the same recorded costs, metrics and markers."""
    from neon_torch.transforms import Misclassification as Metric

    ref, spec = load_holdout("h5_callbacks")
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"])
    evalset = ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"])
    model = Model(layers=eval(spec["layers_src"]))
    out = tmp_path / "cb.h5"
    callbacks = Callbacks(
        model,
        eval_set=evalset,
        eval_freq=spec["h5"]["eval_freq"],
        metric=Metric(),
        output_file=str(out),
        progress_bar=False,
    )
    model.fit(train, eval(spec["cost_src"]), eval(spec["optimizer_src"]), spec["epochs"], callbacks)
    ours, theirs = _h5_nodes(out), _h5_nodes(HOLDOUT / "h5_callbacks.h5")
    assert sorted(ours) == sorted(theirs)
    for name, node in theirs.items():
        mine = ours[name]
        assert mine[:-1] == node[:-1] if node[0] == "dataset" else mine == node, name
        if node[0] == "dataset" and not name.startswith("time/"):  # time/*: wall clock
            np.testing.assert_allclose(mine[-1], node[-1], rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("case", ["multistream_stack", "multistream_lshape", "merge3_conv_alphas"])
def test_trained_prm_files_load_and_reproduce_neons_outputs(case: str, tmp_path: Path) -> None:
    """``Model('<case>.prm')`` of neon's trained file, and of the file neon_torch saves after
    training the same way, give neon's ``get_outputs``."""
    ref, spec = load_holdout(case)
    lshape = tuple(spec["lshape"]) if spec.get("lshape") else None
    gen_backend("cpu", rng_seed=0, batch_size=spec["batch_size"])
    evalset = ArrayIterator(_x(ref, "X_eval"), ref["y_eval"], nclass=spec["nclass"], lshape=lshape)
    loaded = Model(str(HOLDOUT / f"{case}.prm"))
    np.testing.assert_allclose(loaded.get_outputs(evalset), ref["outputs_eval"], atol=1e-6)
    trained = _train(case)["model"]
    trained.save_params(str(tmp_path / "ours.prm"))
    reloaded = Model(str(tmp_path / "ours.prm"))
    np.testing.assert_allclose(reloaded.get_outputs(evalset), ref["outputs_eval"], atol=1e-6)
