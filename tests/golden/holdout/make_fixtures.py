"""Writes the held-out real-neon fixtures in ``tests/data/holdout`` (run it under neon 2.6).

    env PYTHONPATH=<neon src> <neon venv>/bin/python make_fixtures.py [CASE ...]

Every case runs in a fresh interpreter (neon counts layer names per process), with the
conventions of ``tests/data/neon_ref/README.md``: ``gen_backend('cpu', rng_seed=0, ...)``,
float32, no shuffling, labels from a fixed random linear teacher. A case is a dict of neon
source strings (``layers_src``, ``cost_src``, ``optimizer_src``) that are eval'ed here and by
the golden test; the ``.npz`` holds the data, the seeded initial weights, the cost of every
minibatch (read in ``on_minibatch_end``), the summed gradients and the weights after the first
``record_steps`` steps, the final weights and ``get_outputs`` of the eval set; the ``.json``
sidecar holds the sources, ``str(model)`` and the eval metrics; the trained model is saved as
``<case>.prm``. A case with ``h5`` also writes neon's ``-o`` callback file (``<case>.h5``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "data", "holdout")

_GD = "GradientDescentMomentum(0.05, momentum_coef=0.9)"
_G = "init=Gaussian(scale=0.1)"
_CE = "GeneralizedCost(costfunc=CrossEntropyMulti())"


def _ff(layers: str, nfeat: int = 12, lshape=None, **extra) -> dict:
    case = {
        "kind": "ff",
        "layers_src": layers,
        "cost_src": _CE,
        "optimizer_src": _GD,
        "epochs": 2,
        "batch_size": 8,
        "n_train": 48,
        "n_eval": 16,
        "nfeat": nfeat,
        "nclass": 5,
        "lshape": lshape,
        "metrics": ["Misclassification()"],
        "record_steps": 3,
    }
    case.update(extra)
    return case


def _seq(pool: str, hidden: int, depth: int, embed: int = 8) -> dict:
    """LookupTable -> DeepBiLSTM(depth) -> pool -> Affine over token sequences."""
    return _ff(
        f"[LookupTable(vocab_size=20, embedding_dim={embed}, init=Uniform(-0.5, 0.5)), "
        f"DeepBiLSTM({hidden}, init=GlorotUniform(), activation=Tanh(), "
        f"gate_activation=Logistic(), reset_cells=True, depth={depth}), {pool}, "
        "Affine(2, init=GlorotUniform(), bias=Constant(0.0), activation=Softmax())]",
        nfeat=5,
        nclass=2,
        tokens=20,
        batch_size=16,
        n_train=64,
        n_eval=32,
        optimizer_src="GradientDescentMomentum(0.1, momentum_coef=0.9)",
    )


CASES = {
    # (1) MergeBroadcast with three or more paths, several first-layer kinds per path
    "merge3_linear": _ff(
        f"[MergeBroadcast(layers=[[Affine(6, {_G}, activation=Rectlin())], "
        f"[Affine(5, {_G}, activation=Tanh())], [Affine(4, {_G}, activation=Logistic())]], "
        f"merge='stack'), Affine(5, {_G}, activation=Softmax())]"
    ),
    "merge4_deep": _ff(
        f"[MergeBroadcast(layers=[[Affine(6, {_G}, activation=Rectlin()), Affine(5, {_G}, "
        f"activation=Tanh())], [Affine(5, {_G}, activation=Tanh())], [Affine(4, {_G}, "
        f"activation=Rectlin()), Affine(3, {_G}, activation=Logistic())], [Affine(3, {_G}, "
        f"activation=Tanh())]], merge='stack'), Affine(5, {_G}, activation=Softmax())]"
    ),
    "merge3_alphas": _ff(
        f"[Affine(10, {_G}, activation=Tanh()), MergeBroadcast(layers=[[Affine(6, {_G}, "
        f"activation=Rectlin())], [Affine(5, {_G}, activation=Tanh())], [Affine(4, {_G}, "
        "activation=Logistic())]], merge='stack', alphas=[1.0, 0.5, 0.25]), "
        f"Affine(5, {_G}, activation=Softmax())]"
    ),
    "merge3_conv": _ff(
        f"[MergeBroadcast(layers=[[Conv((3, 3, 4), padding=1, {_G}, activation=Rectlin())], "
        f"[Conv((1, 1, 3), {_G}, activation=Tanh())], "
        f"[Conv((3, 3, 2), padding=1, bias=Constant(0.1), {_G}, activation=Rectlin())]], "
        f"merge='depth'), Pooling(2), Affine(5, {_G}, activation=Softmax())]",
        nfeat=2 * 6 * 6,
        lshape=[2, 6, 6],
    ),
    "merge3_mixed": _ff(
        f"[Conv((3, 3, 3), padding=1, {_G}, activation=Rectlin()), MergeBroadcast(layers=["
        f"[Conv((3, 3, 2), padding=1, {_G}, activation=Rectlin())], [Pooling(2), "
        f"Affine(4, {_G}, activation=Tanh())], [Affine(5, {_G}, activation=Rectlin())]], "
        f"merge='stack'), Affine(5, {_G}, activation=Softmax())]",
        nfeat=2 * 6 * 6,
        lshape=[2, 6, 6],
    ),
    "merge2_alphas": _ff(
        f"[Affine(10, {_G}, activation=Tanh()), MergeBroadcast(layers=[[Affine(6, {_G}, "
        f"activation=Rectlin())], [Affine(5, {_G}, activation=Tanh())]], merge='stack', "
        f"alphas=[0.5, 0.25]), Affine(5, {_G}, activation=Softmax())]"
    ),
    "merge3_conv_alphas": _ff(
        f"[Conv((3, 3, 3), padding=1, {_G}, activation=Rectlin()), MergeBroadcast(layers=["
        f"[Conv((1, 1, 2), {_G}, activation=Rectlin())], [Conv((3, 3, 2), padding=1, {_G}, "
        f"activation=Tanh())], [Conv((3, 3, 2), padding=1, bias=Constant(0.1), {_G}, "
        "activation=Rectlin())]], merge='depth', alphas=[0.5, 2.0, 0.25]), Pooling(2), "
        f"Affine(5, {_G}, activation=Softmax())]",
        nfeat=2 * 6 * 6,
        lshape=[2, 6, 6],
    ),
    "merge3_pool_last": _ff(
        f"[Conv((3, 3, 3), padding=1, {_G}, activation=Rectlin()), MergeBroadcast(layers=["
        f"[Affine(5, {_G}, activation=Rectlin())], [Conv((3, 3, 2), padding=1, {_G}, "
        f"activation=Tanh())], [Pooling(2), Affine(4, {_G}, activation=Tanh())]], "
        f"merge='stack', alphas=[0.5, 2.0, 0.25]), Affine(5, {_G}, activation=Softmax())]",
        nfeat=2 * 6 * 6,
        lshape=[2, 6, 6],
    ),
    "merge3_bn_last": _ff(
        f"[Affine(10, {_G}, activation=Tanh()), MergeBroadcast(layers=[[Affine(6, {_G}, "
        f"activation=Rectlin())], [Affine(5, {_G}, activation=Tanh())], [BatchNorm(), "
        f"Affine(4, {_G}, activation=Rectlin())]], merge='stack', alphas=[0.5, 2.0, 1.0]), "
        f"Affine(5, {_G}, activation=Softmax())]"
    ),
    "merge4_deep_inner": _ff(
        f"[Affine(10, {_G}, activation=Tanh()), MergeBroadcast(layers=[[Affine(6, {_G}, "
        f"activation=Rectlin()), Affine(5, {_G}, batch_norm=True, activation=Tanh())], "
        f"[Affine(5, {_G}, activation=Tanh())], [Affine(4, {_G}, activation=Rectlin()), "
        f"Affine(3, {_G}, activation=Logistic())], [Affine(3, {_G}, activation=Tanh())]], "
        f"merge='stack'), Affine(5, {_G}, activation=Softmax())]"
    ),
    # (2) MergeMultistream fed by an ArrayIterator over a list of arrays (with and without lshape)
    "multistream_stack": _ff(
        f"[MergeMultistream(layers=[[Affine(6, {_G}, activation=Rectlin())], "
        f"[Affine(5, {_G}, activation=Tanh())], [Affine(3, {_G}, activation=Logistic())]], "
        f"merge='stack'), Affine(5, {_G}, activation=Softmax())]",
        nfeat=[14, 9, 4],
    ),
    "multistream_lshape": _ff(
        f"[MergeMultistream(layers=[[Conv((3, 3, 3), padding=1, {_G}, activation=Rectlin())], "
        f"[Conv((1, 1, 2), {_G}, activation=Tanh())]], merge='depth'), Pooling(2), "
        f"Affine(5, {_G}, activation=Softmax())]",
        nfeat=[2 * 6 * 6, 2 * 6 * 6],
        lshape=[2, 6, 6],
    ),
    # (3) DeepBiLSTM deeper than 2 (neon's input errors of the split layers)
    "deepbilstm3_last": _seq("RecurrentLast()", 16, 3),
    "deepbilstm3_sum": _seq("RecurrentSum()", 12, 3),
    "deepbilstm4_mean": _seq("RecurrentMean()", 10, 4),
    "deepbilstm2_wide_embed": _seq("RecurrentSum()", 6, 2, embed=24),
    "deepbilstm2_lstm_top": _seq(
        "LSTM(16, init=GlorotUniform(), activation=Tanh(), gate_activation=Logistic(), "
        "reset_cells=True), RecurrentLast()",
        6,
        2,
    ),
    # (4) the -o callback file: every dataset and attribute neon writes
    "h5_callbacks": _ff(
        f"[Affine(8, {_G}, activation=Rectlin()), Affine(5, {_G}, activation=Softmax())]",
        epochs=3,
        h5={"eval_freq": 1, "metric_src": "Misclassification()"},
    ),
}


def _teacher(x: np.ndarray, nclass: int, seed: int) -> np.ndarray:
    w = np.random.RandomState(seed).randn(x.shape[1], nclass)
    return np.argmax(x.dot(w), axis=1).astype(np.int64)


def _data(case: dict, seed: int = 1234):
    """Train and eval arrays; ``nfeat`` a list gives a list of input streams (X a list)."""
    rng = np.random.RandomState(seed)
    n, t = case["n_train"] + case["n_eval"], case["n_train"]
    nfeat = case["nfeat"]
    if case.get("tokens"):  # token ids (N, T); the teacher reads their one-hot counts
        ids = rng.randint(case["tokens"], size=(n, nfeat))
        counts = np.stack([(ids == k).sum(axis=1) for k in range(case["tokens"])], axis=1)
        y = _teacher(counts.astype(np.float32), case["nclass"], seed + 1)
        ids = ids.astype(np.float32)
        return ids[:t], y[:t], ids[t:], y[t:]
    streams = [rng.randn(n, f).astype(np.float32) for f in np.atleast_1d(nfeat)]
    y = _teacher(np.concatenate(streams, axis=1), case["nclass"], seed + 1)
    if isinstance(nfeat, list):
        return [x[:t] for x in streams], y[:t], [x[t:] for x in streams], y[t:]
    return streams[0][:t], y[:t], streams[0][t:], y[t:]


def _as_arrays(name: str, x) -> dict:
    """``X`` (one array) or ``X/0``, ``X/1``, ... (a list of streams)."""
    if isinstance(x, list):
        return {f"{name}/{i}": a for i, a in enumerate(x)}
    return {name: x}


def _params(layer) -> list:
    plist = layer.get_params()
    if isinstance(plist, tuple):  # one ((param, grad), states)
        plist = [plist]
    return plist


def run_case(name: str) -> None:
    from neon.backends import gen_backend
    from neon.callbacks.callbacks import Callback, Callbacks
    from neon.data import ArrayIterator
    from neon.initializers import Constant, Gaussian, GlorotUniform, Uniform  # noqa: F401
    from neon.layers import (  # noqa: F401
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
    from neon.models import Model
    from neon.optimizers import GradientDescentMomentum  # noqa: F401
    from neon.transforms import (  # noqa: F401
        CrossEntropyMulti,
        Logistic,
        Misclassification,
        Rectlin,
        Softmax,
        Tanh,
    )

    case = CASES[name]
    gen_backend("cpu", rng_seed=0, batch_size=case["batch_size"], datatype=np.float32)
    xt, yt, xe, ye = _data(case)
    lshape = tuple(case["lshape"]) if case["lshape"] else None
    train = ArrayIterator(xt, yt, nclass=case["nclass"], lshape=lshape)
    evalset = ArrayIterator(xe, ye, nclass=case["nclass"], lshape=lshape)
    model = Model(layers=eval(case["layers_src"]))
    cost = eval(case["cost_src"])
    model.initialize(train, cost)
    arrays = {"y_train": yt, "y_eval": ye, **_as_arrays("X_train", xt), **_as_arrays("X_eval", xe)}
    for layer in model.layers_to_optimize:
        for i, ((p, _), _) in enumerate(_params(layer)):
            arrays[f"param_init/{layer.name}/{i}"] = p.get().copy()

    steps = case["record_steps"]
    costs, grads, after = [], {}, {}

    class Record(Callback):
        def on_minibatch_end(self, callback_data, model, epoch, minibatch):
            costs.append(float(np.asarray(model.cost.cost).ravel()[0]))
            if len(costs) > steps:
                return
            for layer in model.layers_to_optimize:
                for i, ((p, g), _) in enumerate(_params(layer)):
                    key = f"{layer.name}/{i}"
                    grads.setdefault(key, []).append(g.get().copy())
                    after.setdefault(key, []).append(p.get().copy())

    h5 = case.get("h5")
    if h5:
        callbacks = Callbacks(
            model,
            eval_set=evalset,
            eval_freq=h5["eval_freq"],
            metric=eval(h5["metric_src"]),
            output_file=os.path.join(OUT, name + ".h5"),
        )
    else:
        callbacks = Callbacks(model)
    callbacks.add_callback(Record())
    model.fit(
        train,
        optimizer=eval(case["optimizer_src"]),
        num_epochs=case["epochs"],
        cost=cost,
        callbacks=callbacks,
    )
    model.save_params(os.path.join(OUT, name + ".prm"))
    arrays["cost_per_minibatch"] = np.array(costs, dtype=np.float32)
    for key, values in grads.items():
        arrays["grad_mb/" + key] = np.stack(values)
        arrays["param_after_mb/" + key] = np.stack(after[key])
    for layer in model.layers_to_optimize:
        for i, ((p, _), _) in enumerate(_params(layer)):
            arrays[f"param_final/{layer.name}/{i}"] = p.get().copy()
    arrays["outputs_eval"] = model.get_outputs(evalset)
    metrics = {}
    for src in case["metrics"]:
        metrics[src] = [float(v) for v in model.eval(evalset, metric=eval(src))]
    np.savez_compressed(os.path.join(OUT, name + ".npz"), **arrays)
    spec = dict(
        case,
        case=name,
        metric_values=metrics,
        model_str=str(model),
        optimized_layers_in_order=[layer.name for layer in model.layers_to_optimize],
    )
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(spec, f, indent=1, sort_keys=True)


def main(argv: list) -> None:
    if len(argv) == 1:
        run_case(argv[0])
        return
    for name in argv or sorted(CASES):
        subprocess.check_call([sys.executable, os.path.abspath(__file__), name])
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
