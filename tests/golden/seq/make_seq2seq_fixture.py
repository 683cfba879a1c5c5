"""Record a small seeded char_rae-style Seq2Seq run with the real neon 2.6.

Run with the real neon (not neon_torch), from the repository root::

    env PYTHONPATH=/work/real_neon/src /work/real_neon/venv/bin/python \
        tests/golden/seq/make_seq2seq_fixture.py tests/data/neon_ref/seq2seq [gru|lstm]

Reads ``train.txt`` and ``valid.txt`` there and writes ``seq2seq.npz``: ``cost`` (the cost
after every minibatch of training), ``outputs`` (``get_outputs`` on the valid set, the
decoder fed its own outputs), ``misclass`` (``eval`` with ``Misclassification``) and
``beam`` (``get_outputs_beam`` with 3 beams); and ``seq2seq.prm``, the trained model. With
``lstm`` the recurrent layers are LSTMs and ``seq2seq_lstm.npz`` alone is written.
"""

import os
import sys

import numpy as np
from neon.backends import gen_backend
from neon.callbacks.callbacks import Callback, Callbacks
from neon.data import Text
from neon.initializers import Uniform
from neon.layers import GRU, LSTM, Affine, GeneralizedCost, Seq2Seq
from neon.models import Model
from neon.optimizers import RMSProp
from neon.transforms import CrossEntropyMulti, Logistic, Misclassification, Softmax, Tanh

BSZ, STEPS, HIDDEN, EPOCHS = 4, 6, 12, 30


class CostTrace(Callback):
    """Keep ``model.cost.cost`` after every minibatch."""

    def __init__(self):
        super().__init__()
        self.costs = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch):
        self.costs.append(float(np.asarray(model.cost.cost).ravel()[0]))


def main(folder, cell):
    gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    train = Text(
        STEPS, os.path.join(folder, "train.txt"), reverse_target=True, get_prev_target=True
    )
    valid = Text(STEPS, os.path.join(folder, "valid.txt"), vocab=train.vocab, reverse_target=True)
    init = Uniform(low=-0.08, high=0.08)

    def gru(name):
        kind = GRU if cell == "gru" else LSTM
        return kind(
            HIDDEN, init, activation=Tanh(), gate_activation=Logistic(), reset_cells=True, name=name
        )

    decoder = [gru("GRU1Dec"), Affine(train.nout, init, bias=init, activation=Softmax())]
    model = Model(layers=Seq2Seq([[gru("GRU1Enc")], decoder], decoder_connections=[0]))
    callbacks = Callbacks(model)
    trace = CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=RMSProp(gradient_clip_value=5),
        num_epochs=EPOCHS,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True)),
        callbacks=callbacks,
    )
    np.savez_compressed(
        os.path.join(folder, "seq2seq.npz" if cell == "gru" else "seq2seq_lstm.npz"),
        cost=np.array(trace.costs),
        outputs=model.get_outputs(valid),
        misclass=np.asarray(model.eval(valid, metric=Misclassification(steps=STEPS))),
        beam=model.get_outputs_beam(valid, num_beams=3),
    )
    if cell == "gru":
        model.save_params(os.path.join(folder, "seq2seq.prm"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "gru")
