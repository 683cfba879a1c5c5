"""Recurrent networks against real neon 2.6 runs (fixtures rnn/*).

Every case is rebuilt from the neon source strings in its json sidecar with the neon_torch
classes of the same names, trained as neon was, and compared number by number: seeded initial
weights (bit for bit), the cost of every minibatch, gradients and weights after the first two
steps, final weights and saved optimizer states, ``get_outputs``, eval metrics, the per-layer
outputs of the trained model, ``str(model)`` and the description. ``rnn_lstm_sum`` is stateful
(neon's default ``reset_cells=False``): its numbers depend on the state carried across
minibatches and from ``fit`` into ``get_outputs`` and ``eval``.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.backends import NervanaObject, gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.data import ArrayIterator, Text
from neon_torch.initializers import Constant, GlorotUniform, Uniform  # noqa: F401 - eval'ed
from neon_torch.layers import (  # noqa: F401
    GRU,
    LSTM,
    Affine,
    BiLSTM,
    DeepBiLSTM,
    GeneralizedCost,
    LookupTable,
    Recurrent,
    RecurrentLast,
    RecurrentMean,
    RecurrentSum,
)
from neon_torch.layout import batch_first_to_neon
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum, RMSProp  # noqa: F401
from neon_torch.transforms import (  # noqa: F401
    Accuracy,
    CrossEntropyMulti,
    Logistic,
    Misclassification,
    Softmax,
    Tanh,
)

from ..conftest import NEON_REF, load_case
from ..helpers.golden import (
    Recorder,
    check_initial_weights,
    check_per_layer_outputs,
    keyed,
    structure,
)
from ..helpers.prm import load_prm, parameter_entries

CASES = [
    "rnn_lstm_sum",
    "rnn_lstm_sum_reset",
    "rnn_lstm_last",
    "rnn_lstm_mean",
    "rnn_gru_sum",
    "rnn_recurrent_sum",
    "rnn_bilstm",
    "rnn_deepbilstm",
    "rnn_charlm",
]


def _datasets(case: str, ref: Any, spec: dict, tmp: Path) -> tuple[Any, Any]:
    if case == "rnn_charlm":
        (tmp / "train.txt").write_text(spec["train_text"])
        (tmp / "eval.txt").write_text(spec["eval_text"])
        train = Text(time_steps=spec["time_steps"], path=str(tmp / "train.txt"))
        evalset = Text(spec["time_steps"], str(tmp / "eval.txt"), vocab=train.vocab)
        return train, evalset
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"])
    evalset = ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"])
    return train, evalset


def _run(case: str, tmp: Path) -> dict[str, Any]:
    ref, spec = load_case("rnn", case)
    be = gen_backend("cpu", rng_seed=spec["rng_seed"], batch_size=spec["batch_size"])
    train, evalset = _datasets(case, ref, spec, tmp)
    model = Model(layers=eval(spec["layers_src"]))
    cost = eval(spec["cost_src"])
    model.initialize(train, cost)
    init = {layer.name: [layer.neon_params()["W"]] for layer in model.layers_to_optimize}
    recorder = Recorder()
    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(recorder)
    model.fit(train, cost, eval(spec["optimizer_src"]), spec["epochs"], callbacks)
    outputs = model.get_outputs(evalset)
    if spec.get("metrics"):
        metrics = {m: model.eval(evalset, eval(m)) for m in spec["metrics"]}
    else:  # rnn_charlm: sequence outputs need steps=T (neon crashes with the default)
        metrics = {"steps": model.eval(evalset, Misclassification(steps=spec["time_steps"]))}
    return {
        "be": be,
        "ref": ref,
        "spec": spec,
        "model": model,
        "train": train,
        "evalset": evalset,
        "init": init,
        "recorder": recorder,
        "outputs": outputs,
        "metrics": metrics,
    }


@pytest.fixture(scope="module", params=CASES)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    gc.collect()  # neon names layers by live-object counters: start like a fresh process
    result = _run(request.param, tmp_path_factory.mktemp(request.param))
    yield result
    result.clear()  # failed tests' tracebacks must not keep the model (and its names) alive


def test_initial_weights_are_bit_identical(run: dict) -> None:
    check_initial_weights(run["ref"], run["init"])


def test_initial_weights_match_the_init_prm(run: dict) -> None:
    saved = parameter_entries(load_prm(NEON_REF / "rnn" / f"{run['spec']['case']}_init.prm"))
    assert [e["config"]["name"] for e in saved] == list(run["init"])
    for entry in saved:
        assert np.array_equal(run["init"][entry["config"]["name"]][0], entry["params"]["W"])


def test_cost_trace_and_epoch_costs(run: dict) -> None:
    ref = run["ref"]
    np.testing.assert_allclose(run["recorder"].costs, ref["cost_per_minibatch"], rtol=1e-5)
    if "epoch_mean_cost" in ref.files:
        np.testing.assert_allclose(run["recorder"].epoch_costs, ref["epoch_mean_cost"], rtol=1e-5)


def test_gradients_and_weights_after_the_first_steps(run: dict) -> None:
    ref, rec = run["ref"], run["recorder"]
    grads = keyed(ref, "grad_mb")
    assert grads
    for (name, index), steps in grads.items():
        for step, value in enumerate(steps):
            got = rec.grads[step][name][index]
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-5, err_msg=f"{name} {step}")
    for (name, index), steps in keyed(ref, "param_after_mb").items():
        for step, value in enumerate(steps):
            got = rec.params[step][name][index]
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-6, err_msg=f"{name} {step}")


def test_final_weights_and_saved_states(run: dict) -> None:
    layers = {layer.name: layer for layer in run["model"].layers_to_optimize}
    expected = keyed(run["ref"], "param_final")
    assert expected
    for (name, _), value in expected.items():
        got = layers[name].neon_params()["W"]
        np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-6, err_msg=name)
    saved = load_prm(NEON_REF / "rnn" / f"{run['spec']['case']}.prm")
    NervanaObject.be = run["be"]  # the model describes the backend in use, as in neon
    ours = run["model"].get_description(get_weights=True, keep_states=True)
    entries = saved["model"]["config"]["layers"]
    mine = ours["model"]["config"]["layers"]
    assert [e["type"] for e in mine] == [e["type"] for e in entries]
    for a, b in zip(mine, entries, strict=True):
        assert a["config"]["name"] == b["config"]["name"]
        assert sorted(a["config"]) == sorted(b["config"]), a["config"]["name"]
        for got, value in zip(a.get("states", []), b.get("states", []), strict=True):
            np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-6)


def test_outputs_and_eval_metrics(run: dict) -> None:
    ref, spec = run["ref"], run["spec"]
    assert run["outputs"].shape == ref["outputs_eval"].shape
    np.testing.assert_allclose(run["outputs"], ref["outputs_eval"], rtol=1e-5, atol=1e-6)
    if spec.get("metrics"):
        for metric, expected in spec["metrics"].items():
            got = run["metrics"][metric]
            assert got.dtype == np.float32 and got.shape == (len(expected["values"]),)
            np.testing.assert_allclose(got, expected["values"], rtol=1e-5)
    else:
        expected = ref["eval_metric__Misclassification_steps"]
        np.testing.assert_allclose(run["metrics"]["steps"], expected, rtol=1e-5)


def test_per_layer_outputs_of_the_trained_model(run: dict) -> None:
    """neon pushed its first eval minibatch through the trained top-level layers one by one
    (after get_outputs and eval, so a stateful layer starts from eval's last state)."""
    check_per_layer_outputs(run["ref"], run["model"])


def test_model_string_and_optimized_layer_order(run: dict) -> None:
    spec = run["spec"]
    assert str(run["model"]) == spec["model_str"]
    if spec.get("optimized_layers_in_order"):
        names = [layer.name for layer in run["model"].layers_to_optimize]
        assert names == spec["optimized_layers_in_order"]


def test_text_iterator_layout(run: dict) -> None:
    """neon's Text: row n of every minibatch continues the n-th contiguous chunk of the text."""
    if run["spec"]["case"] != "rnn_charlm":
        pytest.skip("only rnn_charlm reads text")
    ref = run["ref"]
    for name, data, nbatches in (("train", run["train"], 8), ("eval", run["evalset"], 4)):
        assert data.vocab == run["spec"]["vocab"]
        assert (data.nbatches, data.ndata, data.shape) == (nbatches, 8 * nbatches, (28, 5))
        batches = list(data)
        x = torch.stack([b[0].argmax(-1) for b in batches], dim=1)  # (N, nbatches, T)
        t = torch.stack([b[1].argmax(-1) for b in batches], dim=1)
        assert np.array_equal(x.numpy(), ref[f"{name}_X_idx"].astype(np.int64))
        assert np.array_equal(t.numpy(), ref[f"{name}_y_idx"].astype(np.int64))
    x, t = next(iter(run["evalset"]))  # neon's layer_in: the first eval minibatch
    shape = run["evalset"].shape
    np.testing.assert_array_equal(batch_first_to_neon(x, shape).numpy(), ref["layer_in/x"])
    np.testing.assert_array_equal(batch_first_to_neon(t, shape).numpy(), ref["layer_in/t"])


def test_description_structure_matches_neon(run: dict) -> None:
    path = NEON_REF / "rnn" / f"{run['spec']['case']}_description.json"
    if not path.exists():
        pytest.skip("neon dumped no description for this case")
    expected = json.loads(path.read_text())
    NervanaObject.be = run["be"]
    got = run["model"].get_description(get_weights=True, keep_states=True)
    assert structure(got) == structure(expected)
