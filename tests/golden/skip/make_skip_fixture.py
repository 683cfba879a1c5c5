"""Record a small seeded SkipThought training run with the real neon 2.6.

Run with the real neon (not neon_torch), from the repository root::

    env PYTHONPATH=/work/real_neon/src OMP_NUM_THREADS=1 /work/real_neon/venv/bin/python \
        tests/golden/skip/make_skip_fixture.py tests/data/neon_ref/skip

Writes ``skip.npz`` there:

* ``batch/<k>/<name>``: minibatch ``k`` as the example's ``SentenceHomogenous`` lays it out
  (``x``, ``x_p``, ``x_n`` token ids ``(MAX_LEN, BSZ)``; ``y_p``, ``y_n`` flat labels
  ``(MAX_LEN, BSZ)``; ``m_p``, ``m_n`` the masks' first row ``(MAX_LEN, BSZ)``; the one-hot
  targets and full masks are rebuilt from them);
* ``init/<i>/<key>``, ``step1/<i>/<key>``, ``final/<i>/<key>``: the parameters of layer ``i``
  (neon's description keys) after initialization, after the first minibatch and at the end;
* ``cost``: ``model.cost.cost`` after every minibatch (``EPOCHS`` epochs);
* ``out_p``, ``out_n``: the trained model's outputs (inference) on minibatch 0, neon layout
  ``(VOCAB, MAX_LEN * BSZ)``.

and ``skip.prm``: the trained model as neon saves it (the config holds ``rec_layer`` as the
pickled GRU class).
"""

import os
import sys

import numpy as np
from neon.backends import gen_backend
from neon.callbacks.callbacks import Callback, Callbacks
from neon.data.dataiterator import NervanaDataIterator
from neon.initializers import Constant, Orthonormal, Uniform
from neon.layers import GRU, GeneralizedCostMask, Multicost, SkipThought
from neon.models import Model
from neon.optimizers import Adam
from neon.transforms import CrossEntropyMulti, Logistic, Tanh

BSZ, MAX_LEN, VOCAB, EMBED, HIDDEN, EPOCHS = 3, 5, 9, 4, 6, 3
INDEX_FROM, EOS = 2, 3


def make_batches(seed=3, nbatches=3):
    """Sentence triples laid out as the example's iterator does (see the module doc); the
    last minibatch holds fewer triples than BSZ (its other columns stay zero)."""
    rng = np.random.RandomState(seed)
    batches = []
    for k in range(nbatches):
        b = {n: np.zeros((MAX_LEN, BSZ), np.int32) for n in ("x", "x_p", "x_n", "y_p", "y_n")}
        b["m_p"] = np.zeros((MAX_LEN, BSZ), np.int32)
        b["m_n"] = np.zeros((MAX_LEN, BSZ), np.int32)
        l_s = int(rng.randint(2, MAX_LEN + 1))
        for i in range(BSZ if k < nbatches - 1 else 1):
            words = lambda n: rng.randint(0, VOCAB - INDEX_FROM, size=n)  # noqa: E731
            b["x"][-l_s:, i] = words(l_s) + INDEX_FROM
            for side in ("p", "n"):
                sent = words(int(rng.randint(2, MAX_LEN + 1)))
                n = len(sent)
                b["x_" + side][:n, i] = [EOS, *(sent[:-1] + INDEX_FROM).tolist()]
                b["y_" + side][:n, i] = sent + INDEX_FROM
                b["m_" + side][:n, i] = 1
        batches.append(b)
    return batches


class Triples(NervanaDataIterator):
    """Fixed minibatches in SentenceHomogenous's buffers and output structure."""

    def __init__(self, batches):
        super().__init__(name=None)
        self.batches = batches
        self.nbatches = len(batches)
        self.ndata = self.nbatches * self.be.bsz
        self.shape = [(MAX_LEN, 1)] * 3
        self.dev = {n: self.be.iobuf(MAX_LEN, dtype=np.int32) for n in ("x", "x_p", "x_n")}
        self.flat = {n: self.be.iobuf((1, MAX_LEN), dtype=np.int32) for n in ("y_p", "y_n")}
        self.y = {n: self.be.iobuf((VOCAB, MAX_LEN), dtype=np.int32) for n in ("y_p", "y_n")}
        self.m = {n: self.be.iobuf((VOCAB, MAX_LEN), dtype=np.int32) for n in ("m_p", "m_n")}

    def reset(self):
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


def params(model):
    out = {}
    layers = model.get_description(get_weights=True)["model"]["config"]["layers"]
    for i, layer in enumerate(layers):
        for key, value in (layer.get("params") or {}).items():
            out[f"{i}/{key}"] = np.array(value)
    return out


class Trace(Callback):
    """Keep the cost after every minibatch and the parameters after the first one."""

    def __init__(self):
        super().__init__()
        self.costs = []
        self.step1 = None

    def on_minibatch_end(self, callback_data, model, epoch, minibatch):
        self.costs.append(float(np.asarray(model.cost.cost).ravel()[0]))
        if self.step1 is None:
            self.step1 = params(model)


def main(folder):
    gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    np.random.seed(0)  # Orthonormal draws from numpy's global generator
    batches = make_batches()
    train = Triples(batches)
    init = Uniform(low=-0.1, high=0.1)
    skip = SkipThought(
        VOCAB,
        EMBED,
        init,
        HIDDEN,
        rec_layer=GRU,
        init_rec=Orthonormal(),
        activ_rec=Tanh(),
        activ_rec_gate=Logistic(),
        init_ff=Uniform(low=-0.1, high=0.1),
        init_const=Constant(0.0),
    )
    model = Model(skip)
    cost = Multicost(
        costs=[GeneralizedCostMask(costfunc=CrossEntropyMulti(usebits=True)) for _ in "pn"],
        weights=[1, 1],
    )
    model.initialize(train, cost)
    out = {f"init/{k}": v for k, v in params(model).items()}
    callbacks = Callbacks(model)
    trace = Trace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=Adam(learning_rate=0.01, gradient_clip_norm=5.0),
        num_epochs=EPOCHS,
        cost=cost,
        callbacks=callbacks,
    )
    out.update({f"step1/{k}": v for k, v in trace.step1.items()})
    out.update({f"final/{k}": v for k, v in params(model).items()})
    for k, b in enumerate(batches):
        out.update({f"batch/{k}/{n}": v for n, v in b.items()})
    x, _ = next(iter(train))
    out_p, out_n = model.fprop(x, inference=True)
    out["out_p"], out["out_n"] = out_p.get(), out_n.get()
    out["cost"] = np.array(trace.costs)
    np.savez_compressed(os.path.join(folder, "skip.npz"), **out)
    model.save_params(os.path.join(folder, "skip.prm"))


if __name__ == "__main__":
    main(sys.argv[1])
