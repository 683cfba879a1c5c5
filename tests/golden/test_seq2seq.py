"""A char_rae-style Seq2Seq (GRU, and LSTM, encoder and decoder) against real neon 2.6 (fixture
seq2seq/, written by ``tests/golden/seq/make_seq2seq_fixture.py``): the cost of every
minibatch over 30 epochs, ``get_outputs`` (decoder fed its own outputs), ``eval`` with
``Misclassification``, ``get_outputs_beam`` with 3 beams, and neon's ``.prm`` of the trained
model loaded here giving the same outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import Text
from neon_torch.initializers import Uniform
from neon_torch.layers import GRU, LSTM, Affine, GeneralizedCost, Seq2Seq
from neon_torch.models import Model
from neon_torch.optimizers import RMSProp
from neon_torch.transforms import CrossEntropyMulti, Logistic, Misclassification, Softmax, Tanh

FOLDER = Path(__file__).parents[1] / "data" / "neon_ref" / "seq2seq"
BSZ, STEPS, HIDDEN, EPOCHS = 4, 6, 12, 30


class _CostTrace(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch) -> None:
        self.costs.append(float(model.cost.cost))


def _ref(cell: str) -> dict:
    return dict(np.load(FOLDER / ("seq2seq.npz" if cell == "gru" else "seq2seq_lstm.npz")))


def _data():
    train = Text(STEPS, str(FOLDER / "train.txt"), reverse_target=True, get_prev_target=True)
    valid = Text(STEPS, str(FOLDER / "valid.txt"), vocab=train.vocab, reverse_target=True)
    return train, valid


def _cell(kind: type, name: str) -> GRU | LSTM:
    init = Uniform(low=-0.08, high=0.08)
    return kind(
        HIDDEN, init, activation=Tanh(), gate_activation=Logistic(), reset_cells=True, name=name
    )


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_training_outputs_and_beam_search_match_neon(cell):
    ref = _ref(cell)
    kind = GRU if cell == "gru" else LSTM
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train, valid = _data()
    init = Uniform(low=-0.08, high=0.08)
    decoder = [_cell(kind, "Dec"), Affine(train.nout, init, bias=init, activation=Softmax())]
    model = Model(layers=Seq2Seq([[_cell(kind, "Enc")], decoder], decoder_connections=[0]))
    callbacks = Callbacks(model)
    trace = _CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=RMSProp(gradient_clip_value=5),
        num_epochs=EPOCHS,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True)),
        callbacks=callbacks,
    )
    np.testing.assert_allclose(trace.costs, ref["cost"], rtol=1e-4)
    np.testing.assert_allclose(model.get_outputs(valid), ref["outputs"], rtol=1e-4, atol=1e-6)
    misclass = model.eval(valid, metric=Misclassification(steps=STEPS))
    np.testing.assert_allclose(np.asarray(misclass).ravel(), ref["misclass"].ravel())
    beam = model.get_outputs_beam(valid, num_beams=3)
    assert beam.shape == ref["beam"].shape == (8, STEPS, 1)
    np.testing.assert_array_equal(beam, ref["beam"])


def test_neon_prm_loads_and_runs():
    ref = _ref("gru")
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    _, valid = _data()
    model = Model(str(FOLDER / "seq2seq.prm"))
    assert isinstance(model.layers, Seq2Seq)
    assert model.layers.num_encoder_layers == 1 and model.layers.decoder_connections == [0]
    np.testing.assert_allclose(model.get_outputs(valid), ref["outputs"], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(model.get_outputs_beam(valid, num_beams=3), ref["beam"])


def test_str_matches_neon():
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train, _ = _data()
    init = Uniform(low=-0.08, high=0.08)
    decoder = [
        _cell(GRU, "GRU1Dec"),
        Affine(train.nout, init, bias=init, activation=Softmax(), name="AffOut"),
    ]
    model = Model(layers=Seq2Seq([[_cell(GRU, "GRU1Enc")], decoder], name="Seq2Seq"))
    model.initialize(train)
    # printed by real neon 2.6 for the same model and data
    assert str(model) == (
        "Network Layers:\n"
        "Seq2Seq\n"
        "  Recurrent Layer 'GRU1Enc': 14 inputs, 12 outputs, 6 steps\n"
        "  Recurrent Layer 'GRU1Dec': 14 inputs, 12 outputs, 6 steps\n"
        "  Linear Layer 'AffOut': 12 inputs, 14 outputs\n"
        "  Bias Layer 'AffOut_bias': size 14\n"
        "  Activation Layer 'AffOut_Softmax': Softmax"
    )
