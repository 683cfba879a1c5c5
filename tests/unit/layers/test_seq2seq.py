"""Seq2Seq: construction rules, neon_torch .prm round trip, init_state, beam search layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import Text
from neon_torch.errors import LayerConfigError, UnsupportedNeonFeature
from neon_torch.initializers import Uniform
from neon_torch.layers import (
    GRU,
    LSTM,
    Affine,
    Decoder,
    Encoder,
    GeneralizedCost,
    Recurrent,
    Seq2Seq,
)
from neon_torch.models import Model
from neon_torch.optimizers import RMSProp
from neon_torch.transforms import CrossEntropyMulti, Logistic, Softmax, Tanh

DATA = Path(__file__).parents[2] / "data" / "neon_ref" / "seq2seq"


def _gru(n: int = 5) -> GRU:
    return GRU(n, Uniform(), activation=Tanh(), gate_activation=Logistic(), reset_cells=True)


@pytest.fixture(autouse=True)
def _backend():
    gen_backend("cpu", rng_seed=0, batch_size=4)


def test_containers_and_default_connections():
    s2s = Seq2Seq([_gru(), [_gru(), Affine(3, Uniform())]])
    assert isinstance(s2s.encoder, Encoder) and isinstance(s2s.decoder, Decoder)
    assert s2s.decoder_connections == [0] and s2s.num_encoder_layers == 1
    assert len(s2s.layers) == 3


def test_unpaired_recurrent_layers_need_connections():
    with pytest.raises(LayerConfigError, match="decoder_connections"):
        Seq2Seq([[_gru(), _gru()], [_gru()]])
    assert Seq2Seq([[_gru(), _gru()], [_gru()]], decoder_connections=[1]).decoder_connections


def test_plain_recurrent_decoder_is_refused():
    rnn = Recurrent(5, Uniform(), activation=Tanh())
    with pytest.raises(UnsupportedNeonFeature, match="GRU and LSTM"):
        Seq2Seq([_gru(), rnn])


def test_init_state_starts_the_call_and_receives_gradient():
    gru = _gru(3)
    gru.configure((2, 4))
    gru.allocate()
    x = torch.randn(4, 4, 2)
    zero = gru(x)
    h0 = torch.randn(4, 3, requires_grad=True)
    gru.init_state = h0
    y = gru(x)
    assert gru.init_state is None  # used once
    assert not torch.allclose(y, zero)
    y.sum().backward()
    assert h0.grad is not None and h0.grad.abs().sum() > 0
    assert torch.allclose(gru(x), zero)  # the next call starts from zeros again


def _model() -> tuple[Model, Text, Text]:
    train = Text(6, str(DATA / "train.txt"), reverse_target=True, get_prev_target=True)
    valid = Text(6, str(DATA / "valid.txt"), vocab=train.vocab, reverse_target=True)
    layers = Seq2Seq([[_gru(8)], [_gru(8), Affine(train.nout, Uniform(), activation=Softmax())]])
    return Model(layers), train, valid


def test_own_prm_round_trip(tmp_path):
    model, train, valid = _model()
    model.fit(
        train,
        optimizer=RMSProp(),
        num_epochs=1,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti()),
    )
    expected = model.get_outputs(valid)
    path = tmp_path / "s2s.prm"
    model.save_params(str(path))
    loaded = Model(str(path))
    np.testing.assert_allclose(loaded.get_outputs(valid), expected, rtol=1e-6)
    desc = loaded.get_description()["model"]["config"]
    assert desc["num_encoder_layers"] == 1 and desc["decoder_connections"] == [0]


def test_beam_output_layout():
    model, _, valid = _model()
    beam = model.get_outputs_beam(valid, num_beams=2)
    assert beam.shape == (valid.ndata, 6, 1) and beam.dtype == np.float32
    assert np.all((beam >= 0) & (beam < valid.nclass))
    assert model.get_outputs_beam(valid).shape == (valid.ndata, 6, valid.nclass)


def test_lstm_init_state_sets_h_and_sends_error_back():
    lstm = LSTM(3, Uniform(), activation=Tanh(), gate_activation=Logistic(), reset_cells=True)
    lstm.configure((2, 4))
    lstm.allocate()
    x = torch.randn(4, 4, 2)
    h0 = torch.randn(4, 3, requires_grad=True)
    lstm.init_state = h0
    y = lstm(x)
    y.sum().backward()
    assert h0.grad is not None and h0.grad.abs().sum() > 0
    assert not torch.allclose(y.detach(), lstm(x).detach())


def test_to_torch_is_refused():
    model, _, valid = _model()
    model.initialize(valid)
    with pytest.raises(UnsupportedNeonFeature, match="plain-torch"):
        model.layers.to_torch()
