"""Writes the real-neon fixtures of ``tests/data/binary_gan`` (run it under neon 2.6).

    env PYTHONPATH=<neon src> <neon venv>/bin/python make_fixtures.py [CASE ...]

Each case runs in a fresh interpreter (neon counts layer names per process) on the CPU
backend, float32, ``rng_seed=0``, with the conventions of ``tests/data/neon_ref/README.md``.

``binary``: three ``BinaryAffine`` layers (batch_norm=True, Sign/Sign/Identity) trained with
``SquareHingeLoss`` and a ``MultiOptimizer`` of ``ShiftAdaMax`` + ``ShiftSchedule``, as neon's
``examples/binary/train.py`` does, on 12 features; the ``.npz`` holds the data, the seeded
weights, the cost of every minibatch, every parameter, gradient and ``gmean``/``gvar`` after
each step, ``get_outputs`` of the eval set, and ``Sign``/``SquareHingeLoss`` on fixed arrays.

``gan_modified`` / ``gan_wasserstein``: a small fully connected ``GAN`` (generator Affine +
BatchNorm, discriminator Affine) on 8 features, ``GANCost('modified')`` with Adam and k=1, and
``GANCost('wasserstein')`` with RMSProp, k=2 and weight clipping; numpy's global stream (neon's
noise source) is seeded with 7 just before ``fit``. The ``.npz`` holds the data, the seeded
weights, ``cost_dis``/``gen_iter``/``last_gen_batch`` and every parameter after every
minibatch, ``total_cost`` per epoch and the generator's output on the fixed noise ``z0``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "data", "binary_gan")

BINARY = {
    "layers_src": (
        "[BinaryAffine(nout=16, init=Uniform(-1, 1), batch_norm=True, activation=Sign()), "
        "BinaryAffine(nout=16, init=Uniform(-1, 1), batch_norm=True, activation=Sign()), "
        "BinaryAffine(nout=5, init=Uniform(-1, 1), batch_norm=True, activation=Identity())]"
    ),
    "cost_src": "GeneralizedCost(costfunc=SquareHingeLoss())",
    "optimizer_src": (
        "MultiOptimizer({"
        "'default': ShiftAdaMax(learning_rate=0.0165, schedule=ShiftSchedule(2, shift_size=1)), "
        "'BinaryLinear_0': ShiftAdaMax(learning_rate=0.0165 * 57.038, "
        "schedule=ShiftSchedule(2, shift_size=1)), "
        "'BinaryLinear_1': ShiftAdaMax(learning_rate=0.0165 * 73.9008, "
        "schedule=ShiftSchedule(2, shift_size=1)), "
        "'BinaryLinear_2': ShiftAdaMax(learning_rate=0.0165 * 52.3195, "
        "schedule=ShiftSchedule(2, shift_size=1))})"
    ),
    "epochs": 3,
    "batch_size": 8,
    "n_train": 32,
    "n_eval": 16,
    "nfeat": 12,
    "nclass": 5,
}


def _teacher(x: np.ndarray, nclass: int, seed: int) -> np.ndarray:
    w = np.random.RandomState(seed).randn(x.shape[1], nclass)
    return np.argmax(x.dot(w), axis=1).astype(np.int64)


def _plist(layer) -> list:
    plist = layer.get_params()
    return [plist] if isinstance(plist, tuple) else plist


def run_binary() -> None:
    from neon.backends import gen_backend
    from neon.callbacks.callbacks import Callback, Callbacks
    from neon.data import ArrayIterator
    from neon.initializers import Uniform  # noqa: F401
    from neon.layers import BinaryAffine, GeneralizedCost  # noqa: F401
    from neon.models import Model
    from neon.optimizers import MultiOptimizer, ShiftAdaMax, ShiftSchedule  # noqa: F401
    from neon.transforms import Identity, Misclassification, Sign, SquareHingeLoss  # noqa: F401

    case = BINARY
    be = gen_backend("cpu", rng_seed=0, batch_size=case["batch_size"], datatype=np.float32)
    rng = np.random.RandomState(1234)
    n = case["n_train"] + case["n_eval"]
    x = rng.randn(n, case["nfeat"]).astype(np.float32)
    y = _teacher(x, case["nclass"], 1235)
    t = case["n_train"]
    train = ArrayIterator(x[:t], y[:t], nclass=case["nclass"])
    evalset = ArrayIterator(x[t:], y[t:], nclass=case["nclass"])
    model = Model(layers=eval(case["layers_src"]))
    cost = eval(case["cost_src"])
    model.initialize(train, cost)
    arrays = {"X_train": x[:t], "y_train": y[:t], "X_eval": x[t:], "y_eval": y[t:]}
    for layer in model.layers_to_optimize:
        for i, ((p, _), _) in enumerate(_plist(layer)):
            arrays[f"param_init/{layer.name}/{i}"] = p.get().copy()

    costs, rec = [], {}

    def keep(key, value):
        rec.setdefault(key, []).append(value.get().copy())

    class Record(Callback):
        def on_minibatch_end(self, callback_data, model, epoch, minibatch):
            costs.append(float(np.asarray(model.cost.cost).ravel()[0]))
            for layer in model.layers_to_optimize:
                for i, ((p, g), _) in enumerate(_plist(layer)):
                    keep(f"grad_mb/{layer.name}/{i}", g)
                    keep(f"param_after_mb/{layer.name}/{i}", p)
                if hasattr(layer, "gvar"):
                    keep(f"gmean_after_mb/{layer.name}", layer.gmean)
                    keep(f"gvar_after_mb/{layer.name}", layer.gvar)

    callbacks = Callbacks(model)
    callbacks.add_callback(Record())
    model.fit(
        train,
        optimizer=eval(case["optimizer_src"]),
        num_epochs=case["epochs"],
        cost=cost,
        callbacks=callbacks,
    )
    model.save_params(os.path.join(OUT, "binary.prm"))
    arrays["cost_per_minibatch"] = np.array(costs, dtype=np.float32)
    for key, values in rec.items():
        arrays[key] = np.stack(values)
    arrays["outputs_eval"] = model.get_outputs(evalset)
    misclass = float(model.eval(evalset, metric=Misclassification())[0])

    # the transforms on their own, neon layout (features, batch)
    tx = np.linspace(-2.5, 2.5, 6 * 8).reshape(6, 8).astype(np.float32)
    tx[0, :3] = [-1.0, 0.0, 1.0]
    arrays["sign/x"] = tx
    sign = Sign()
    buf = be.array(tx)
    arrays["sign/y"] = sign(buf).get().copy()
    arrays["sign/bprop"] = be.empty((6, 8))
    arrays["sign/bprop"] = _value(be, sign.bprop(buf))
    targets = np.zeros((6, 8), dtype=np.float32)
    targets[np.arange(8) % 6, np.arange(8)] = 1.0
    arrays["hinge/y"] = tx * 0.7
    arrays["hinge/t"] = targets
    for margin in (1, 2):
        hinge = SquareHingeLoss(margin=margin)
        yb, tb = be.array(tx * 0.7), be.array(targets)
        arrays[f"hinge/m{margin}/cost"] = _value(be, hinge(yb, tb))
        arrays[f"hinge/m{margin}/delta"] = _value(be, hinge.bprop(yb, tb))

    np.savez_compressed(os.path.join(OUT, "binary.npz"), **arrays)
    spec = dict(
        case,
        case="binary",
        misclassification=misclass,
        model_str=str(model),
        optimized_layers_in_order=[layer.name for layer in model.layers_to_optimize],
    )
    with open(os.path.join(OUT, "binary.json"), "w") as f:
        json.dump(spec, f, indent=1, sort_keys=True)


def _value(be, tree) -> np.ndarray:
    """An op-tree (or Tensor) evaluated into a fresh buffer."""
    shape = tree.shape
    out = be.empty(shape)
    out[:] = tree
    return out.get().copy()


GAN_CASES = {
    "gan_modified": {
        "cost_src": "GeneralizedGANCost(costfunc=GANCost(func='modified'))",
        "optimizer_src": "Adam(learning_rate=0.01, beta_1=0.5)",
        "k": 1,
        "clamp": None,
    },
    "gan_wasserstein": {
        "cost_src": "GeneralizedGANCost(costfunc=GANCost(func='wasserstein'))",
        "optimizer_src": "RMSProp(learning_rate=0.01, decay_rate=0.99, epsilon=1e-8)",
        "k": 2,
        "clamp": 0.05,
    },
}
_GAN_COMMON = {
    "generator_src": (
        "[Affine(nout=16, init=Gaussian(scale=0.3), batch_norm=True, activation=Rectlin()), "
        "Affine(nout=8, init=Gaussian(scale=0.3), bias=Constant(0.0), activation=Tanh())]"
    ),
    "discriminator_src": (
        "[Affine(nout=16, init=Gaussian(scale=0.3), bias=Constant(0.0), "
        "activation=Rectlin(slope=0.1)), "
        "Affine(nout=1, init=Gaussian(scale=0.3), bias=Constant(0.0), activation=Logistic())]"
    ),
    "noise_dim": [4],
    "epochs": 2,
    "batch_size": 8,
    "n_train": 40,
    "nfeat": 8,
    "noise_seed": 7,
}


def run_gan(name: str) -> None:
    from neon.backends import gen_backend
    from neon.callbacks.callbacks import Callback, Callbacks
    from neon.data import ArrayIterator
    from neon.initializers import Constant, Gaussian  # noqa: F401
    from neon.layers import Affine, GeneralizedGANCost, Sequential  # noqa: F401
    from neon.layers.container import GenerativeAdversarial
    from neon.models.model import GAN
    from neon.optimizers import Adam, RMSProp  # noqa: F401
    from neon.transforms import GANCost, Logistic, Rectlin, Tanh  # noqa: F401

    case = dict(_GAN_COMMON, **GAN_CASES[name])
    gen_backend("cpu", rng_seed=0, batch_size=case["batch_size"], datatype=np.float32)
    rng = np.random.RandomState(4321)
    x = np.tanh(rng.randn(case["n_train"], case["nfeat"]) + 0.5).astype(np.float32)
    train = ArrayIterator(x, np.zeros(case["n_train"], dtype=np.int64), nclass=2)
    layers = GenerativeAdversarial(
        generator=Sequential(eval(case["generator_src"]), name="Generator"),
        discriminator=Sequential(eval(case["discriminator_src"]), name="Discriminator"),
    )
    model = GAN(
        layers=layers,
        noise_dim=tuple(case["noise_dim"]),
        k=case["k"],
        wgan_param_clamp=case["clamp"],
    )
    cost = eval(case["cost_src"])
    arrays = {"X_train": x}
    rec, totals = {}, []

    class Record(Callback):
        def on_minibatch_end(self, callback_data, model, epoch, minibatch):
            rec.setdefault("cost_dis", []).append(np.array(model.cost_dis, dtype=np.float32))
            rec.setdefault("gen_iter", []).append(np.array(model.gen_iter))
            rec.setdefault("last_gen_batch", []).append(np.array(model.last_gen_batch))
            for layer in model.layers.layers_to_optimize:
                for i, ((p, _), _) in enumerate(_plist(layer)):
                    rec.setdefault(f"param_after_mb/{layer.name}/{i}", []).append(p.get().copy())

        def on_epoch_end(self, callback_data, model, epoch):
            totals.append(float(np.asarray(model.total_cost).ravel()[0]))

    callbacks = Callbacks(model)
    callbacks.add_callback(Record())
    np.random.seed(case["noise_seed"])
    model.initialize(train, cost)
    for layer in model.layers.layers_to_optimize:
        for i, ((p, _), _) in enumerate(_plist(layer)):
            arrays[f"param_init/{layer.name}/{i}"] = p.get().copy()
    arrays["z0"] = model.z0.get().copy()
    model.fit(
        train,
        optimizer=eval(case["optimizer_src"]),
        num_epochs=case["epochs"],
        cost=cost,
        callbacks=callbacks,
    )
    for key, values in rec.items():
        arrays[key] = np.stack(values)
    arrays["total_cost"] = np.array(totals, dtype=np.float32)
    arrays["noise_batch"] = model.noise_batch.get().copy()
    np.savez_compressed(os.path.join(OUT, name + ".npz"), **arrays)
    spec = dict(
        case,
        case=name,
        model_str=str(model),
        optimized_layers_in_order=[layer.name for layer in model.layers.layers_to_optimize],
    )
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(spec, f, indent=1, sort_keys=True)


CASES = {
    "binary": run_binary,
    "gan_modified": lambda: run_gan("gan_modified"),
    "gan_wasserstein": lambda: run_gan("gan_wasserstein"),
}


def main(argv: list) -> None:
    if len(argv) == 1:
        CASES[argv[0]]()
        return
    for name in argv or sorted(CASES):
        subprocess.check_call([sys.executable, os.path.abspath(__file__), name])
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
