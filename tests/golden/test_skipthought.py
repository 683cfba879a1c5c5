"""A tiny SkipThought (GRU encoder and decoders, Multicost of two GeneralizedCostMask,
Adam with gradient_clip_norm) against real neon 2.6 (fixture skip/, written by
``tests/golden/skip/make_skip_fixture.py``): initial parameters drawn from the same seed,
the parameters after the first minibatch, the cost of every minibatch, the trained
parameters and outputs, and neon's ``.prm`` of the trained model loaded here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data.dataiterator import NervanaDataIterator
from neon_torch.initializers import Constant, Orthonormal, Uniform
from neon_torch.layers import GRU, GeneralizedCostMask, Multicost, SkipThought
from neon_torch.models import Model
from neon_torch.optimizers import Adam
from neon_torch.transforms import CrossEntropyMulti, Logistic, Tanh

FOLDER = Path(__file__).parents[1] / "data" / "neon_ref" / "skip"
BSZ, MAX_LEN, VOCAB, EMBED, HIDDEN, EPOCHS = 3, 5, 9, 4, 6, 3

pytestmark = pytest.mark.skipif(
    not (FOLDER / "skip.npz").exists(),
    reason="fixture tests/data/neon_ref/skip/ missing (run tests/golden/skip/make_skip_fixture.py "
    "under the real neon 2.6)",
)


class _Triples(NervanaDataIterator):
    """The fixture's minibatches in the buffers and structure of the example's
    SentenceHomogenous: ``(x, x_p, x_n), ((y_p, mask_p), (y_n, mask_n))``."""

    def __init__(self, ref: dict) -> None:
        super().__init__(name=None)
        self.batches = []
        k = 0
        while f"batch/{k}/x" in ref:
            self.batches.append(
                {n: ref[f"batch/{k}/{n}"] for n in ("x", "x_p", "x_n", "y_p", "y_n", "m_p", "m_n")}
            )
            k += 1
        self.nbatches = len(self.batches)
        self.ndata = self.nbatches * self.be.bsz
        self.shape = [(MAX_LEN, 1)] * 3
        self.dev = {n: self.be.iobuf(MAX_LEN, dtype=np.int32) for n in ("x", "x_p", "x_n")}
        self.flat = {n: self.be.iobuf((1, MAX_LEN), dtype=np.int32) for n in ("y_p", "y_n")}
        self.y = {n: self.be.iobuf((VOCAB, MAX_LEN), dtype=np.int32) for n in ("y_p", "y_n")}
        self.m = {n: self.be.iobuf((VOCAB, MAX_LEN), dtype=np.int32) for n in ("m_p", "m_n")}

    def reset(self) -> None:
        pass

    def __iter__(self):
        for b in self.batches:
            for n in ("x", "x_p", "x_n"):
                self.dev[n].set(b[n])
            for n in ("y_p", "y_n"):
                self.flat[n].set(b[n].reshape(1, -1))
                self.y[n][:] = self.be.onehot(self.flat[n], axis=0)
            for n in ("m_p", "m_n"):
                self.m[n].set(np.repeat(b[n].reshape(1, -1), VOCAB, axis=0))
            yield (
                (self.dev["x"], self.dev["x_p"], self.dev["x_n"]),
                (
                    (self.y["y_p"], self.m["m_p"]),
                    (self.y["y_n"], self.m["m_n"]),
                ),
            )


def _params(model: Model) -> dict[str, np.ndarray]:
    out = {}
    layers = model.get_description(get_weights=True)["model"]["config"]["layers"]
    for i, layer in enumerate(layers):
        for key, value in (layer.get("params") or {}).items():
            out[f"{i}/{key}"] = np.asarray(value)
    return out


def _compare(ours: dict, ref: dict, stage: str, **tol) -> None:
    keys = sorted(k[len(stage) + 1 :] for k in ref if k.startswith(stage + "/"))
    assert sorted(ours) == keys
    for key in keys:
        np.testing.assert_allclose(ours[key], ref[f"{stage}/{key}"], err_msg=key, **tol)


class _Trace(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []
        self.step1: dict | None = None

    def on_minibatch_end(self, callback_data, model, epoch, minibatch) -> None:
        self.costs.append(float(model.cost.cost))
        if self.step1 is None:
            self.step1 = _params(model)


def _skip() -> SkipThought:
    return SkipThought(
        VOCAB,
        EMBED,
        Uniform(low=-0.1, high=0.1),
        HIDDEN,
        rec_layer=GRU,
        init_rec=Orthonormal(),
        activ_rec=Tanh(),
        activ_rec_gate=Logistic(),
        init_ff=Uniform(low=-0.1, high=0.1),
        init_const=Constant(0.0),
    )


def _cost() -> Multicost:
    return Multicost(
        costs=[GeneralizedCostMask(costfunc=CrossEntropyMulti(usebits=True)) for _ in "pn"],
        weights=[1, 1],
    )


@pytest.fixture(scope="module")
def ref() -> dict:
    return dict(np.load(FOLDER / "skip.npz"))


def test_training_matches_neon(ref, tmp_path):
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    np.random.seed(0)  # Orthonormal draws from numpy's global generator, as in neon
    train = _Triples(ref)
    model = Model(_skip())
    cost = _cost()
    model.initialize(train, cost)
    _compare(_params(model), ref, "init", rtol=1e-6, atol=1e-7)
    callbacks = Callbacks(model)
    trace = _Trace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=Adam(learning_rate=0.01, gradient_clip_norm=5.0),
        num_epochs=EPOCHS,
        cost=cost,
        callbacks=callbacks,
    )
    _compare(trace.step1, ref, "step1", rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trace.costs, ref["cost"], rtol=1e-4)
    _compare(_params(model), ref, "final", rtol=1e-4, atol=1e-5)
    x, _ = next(iter(train))
    out_p, out_n = model.fprop(x, inference=True)
    np.testing.assert_allclose(out_p.get(), ref["out_p"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out_n.get(), ref["out_n"], rtol=1e-4, atol=1e-6)

    # our own .prm round trip gives the same model
    model.save_params(tmp_path / "ours.prm")
    again = Model(str(tmp_path / "ours.prm"))
    again.initialize(train)
    assert isinstance(again.layers, SkipThought)
    _compare(_params(again), ref, "final", rtol=1e-4, atol=1e-5)
    back_p, _ = again.fprop(x, inference=True)
    np.testing.assert_allclose(back_p.get(), out_p.get(), rtol=1e-6, atol=1e-7)


def test_neon_prm_loads(ref):
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train = _Triples(ref)
    model = Model(str(FOLDER / "skip.prm"))
    model.initialize(train)
    assert isinstance(model.layers, SkipThought)
    assert model.layers.rec_layer is GRU and model.layers.nhidden == HIDDEN
    _compare(_params(model), ref, "final", rtol=1e-6, atol=1e-7)
    x, _ = next(iter(train))
    out_p, out_n = model.fprop(x, inference=True)
    np.testing.assert_allclose(out_p.get(), ref["out_p"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out_n.get(), ref["out_n"], rtol=1e-4, atol=1e-6)
