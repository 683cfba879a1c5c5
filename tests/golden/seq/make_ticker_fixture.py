"""Record neon 2.6's Ticker minibatches and a short rnn_copy-style training run.

Run with the real neon (not neon_torch)::

    env PYTHONPATH=/work/real_neon/src /work/real_neon/venv/bin/python \
        tests/golden/seq/make_ticker_fixture.py tests/data/neon_ref/ticker/ticker.npz

Saved arrays (neon's ``(features, T * bsz)`` buffer layout, column ``t * bsz + n``):
``<task>/<k>/x|t|mask`` for minibatch ``k`` of each task, drawn after ``np.random.seed(SEED)``;
``train/cost`` the cost read after each minibatch of a two-epoch GRU run on a seeded
``CopyTask``.
"""

import sys

import numpy as np
from neon.backends import gen_backend
from neon.callbacks.callbacks import Callback, Callbacks
from neon.data import CopyTask, PrioritySortTask, RepeatCopyTask, Ticker
from neon.initializers import Uniform
from neon.layers import GRU, Affine, GeneralizedCostMask
from neon.models import Model
from neon.optimizers import RMSProp
from neon.transforms import CrossEntropyBinary, Logistic, Tanh

SEED = 7
BSZ = 4
NBATCHES = 3


class CostTrace(Callback):
    """Keep ``model.cost.cost`` after every minibatch."""

    def __init__(self):
        super().__init__()
        self.costs = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch):
        self.costs.append(float(np.asarray(model.cost.cost).ravel()[0]))


def main(path):
    be = gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    out = {}
    np.random.seed(SEED)
    tasks = {
        "copy": CopyTask(3, 4),
        "repeat": RepeatCopyTask(2, 2, 3),
        "sort": PrioritySortTask(3, 4),
    }
    for name, task in tasks.items():
        ticker = Ticker(task)
        ticker.nbatches = NBATCHES
        for k, (x, (t, mask)) in enumerate(ticker):
            out[f"{name}/{k}/x"] = x.get()
            out[f"{name}/{k}/t"] = t.get()
            out[f"{name}/{k}/mask"] = mask.get()

    np.random.seed(SEED)
    train = Ticker(CopyTask(3, 4))
    train.nbatches = 6
    init = Uniform(low=-0.08, high=0.08)
    model = Model(
        layers=[
            GRU(10, init, activation=Tanh(), gate_activation=Logistic()),
            Affine(train.nout, init, bias=init, activation=Logistic()),
        ]
    )
    callbacks = Callbacks(model)
    trace = CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=RMSProp(gradient_clip_value=5),
        num_epochs=2,
        cost=GeneralizedCostMask(costfunc=CrossEntropyBinary()),
        callbacks=callbacks,
    )
    out["train/cost"] = np.array(trace.costs)
    np.savez_compressed(path, **out)
    del be


if __name__ == "__main__":
    main(sys.argv[1])
