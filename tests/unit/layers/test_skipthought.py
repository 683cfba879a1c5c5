"""SkipThought: construction, tied gradients, descriptions and neon's pickled class names;
the helpers its example scripts needed (nested neon targets, be.onehot sized by its
destination, save_obj of h5py records)."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.errors import (
    LayerConfigError,
    PrmFormatError,
    UnsafePickleError,
    UnsupportedNeonFeature,
)
from neon_torch.initializers import Constant, Orthonormal, Uniform
from neon_torch.layers import GRU, LSTM, Affine, LookupTable, SkipThought
from neon_torch.models import Model
from neon_torch.models._data import from_neon_target
from neon_torch.serialization import _codec
from neon_torch.serialization.build import build_object
from neon_torch.serialization.legacy_pickle import load_pickle
from neon_torch.transforms import Logistic, Tanh
from neon_torch.util.persist import load_obj, save_obj

VOCAB, EMBED, HIDDEN, T, N = 7, 4, 5, 3, 2


class _Data:
    shape = [(T, 1)] * 3


def _skip(rec_layer=GRU, **kw) -> SkipThought:
    return SkipThought(
        VOCAB,
        EMBED,
        Uniform(-0.1, 0.1),
        HIDDEN,
        rec_layer=rec_layer,
        init_rec=Orthonormal(),
        activ_rec=Tanh(),
        activ_rec_gate=Logistic(),
        init_ff=Uniform(-0.1, 0.1),
        init_const=Constant(0.0),
        **kw,
    )


def _model(rec_layer=GRU) -> Model:
    gen_backend("cpu", rng_seed=0, batch_size=N)
    model = Model(_skip(rec_layer))
    model.initialize(_Data())
    return model


def _ids() -> list[torch.Tensor]:
    return [
        torch.tensor([[0, 2, 3], [2, 4, 5]]),
        torch.tensor([[3, 2, 0], [3, 6, 2]]),
        torch.tensor([[3, 4, 5], [3, 2, 0]]),
    ]


def test_structure_shapes_and_layer_dict():
    model = _model()
    skip = model.layers
    assert [type(layer).__name__ for layer in skip.layers] == (
        ["LookupTable"] * 3 + ["GRU"] * 3 + ["Linear", "Bias", "Activation"] * 2
    )
    assert all(layer.pad_idx == 0 for layer in skip.embeddings)
    assert skip.out_shape == [(VOCAB, T), (VOCAB, T)]
    assert model.layer_dict["encoder"] is skip.layers[3]
    assert model.layer_dict["affine"] == list(skip.layers[6:9])
    # the two output Linears start tied, the three embeddings from separate draws
    assert torch.equal(skip.layers[6].weight, skip.layers[9].weight)
    assert not torch.equal(skip.layers[0].weight, skip.layers[1].weight)
    y = skip(_ids())
    assert [tuple(v.shape) for v in y] == [(N, T, VOCAB)] * 2


def test_tied_gradients_are_the_mean_of_the_untied_ones():
    model = _model()
    skip = model.layers
    ids = _ids()
    weights = torch.randn(2, N, T, VOCAB, generator=torch.Generator().manual_seed(1))

    def loss(outputs):
        return sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))

    loss(skip(ids)).backward()
    tied = {i: skip.layers[i].weight.grad.clone() for i in (0, 1, 2, 6, 9)}
    tied_bias = [skip.layers[i].bias.grad.clone() for i in (7, 10)]
    skip.zero_grad()

    # the same graph by hand, with each layer's own gradient
    embeds = [skip.layers[i](x) for i, x in zip((0, 1, 2), ids, strict=True)]
    context = skip.layers[3](embeds[0])[:, -1]
    outs = []
    for i, dec in ((1, 4), (2, 5)):
        skip.layers[dec].init_state = context
        h = skip.layers[dec](embeds[i])
        base = 6 if dec == 4 else 9
        for layer in skip.layers[base : base + 3]:
            h = layer(h)
        outs.append(h)
    loss(outs).backward()
    own = {i: skip.layers[i].weight.grad for i in (0, 1, 2, 6, 9)}
    mean_embed = (own[0] + own[1] + own[2]) / 3
    for i in (0, 1, 2):
        torch.testing.assert_close(tied[i], mean_embed)
    for i in (6, 9):
        torch.testing.assert_close(tied[i], (own[6] + own[9]) / 2)
    mean_bias = (skip.layers[7].bias.grad + skip.layers[10].bias.grad) / 2
    for got in tied_bias:
        torch.testing.assert_close(got, mean_bias)
    assert float(own[0].abs().sum()) > 0


def test_lstm_encoder_and_decoders():
    model = _model(LSTM)
    assert type(model.layers.encoder) is LSTM
    y = model.layers(_ids())
    assert tuple(y[1].shape) == (N, T, VOCAB)


def test_description_round_trip_keeps_the_recurrent_type_as_a_string():
    model = _model()
    desc = model.layers.layer_description()
    config = desc["config"]
    assert config["rec_layer"] == "neon.layers.recurrent.GRU"
    assert config["nhidden"] == HIDDEN and config["vocab_size"] == VOCAB
    assert len(config["layers"]) == 12
    again = build_object(desc)
    assert isinstance(again, SkipThought) and again.rec_layer is GRU
    assert [type(a) for a in again.layers] == [type(b) for b in model.layers.layers]


def test_refusals():
    with pytest.raises(LayerConfigError, match="rec_layer"):
        _skip(rec_layer=LookupTable)
    with pytest.raises(LayerConfigError, match="12"):
        _skip(layers=Affine(3, Uniform(), bias=Constant(0)))
    gen_backend("cpu", batch_size=N)
    with pytest.raises(LayerConfigError, match="three shapes"):
        _skip().configure((T, 1))
    model = _model()
    with pytest.raises(UnsupportedNeonFeature, match="plain-torch"):
        model.layers.to_torch()


def test_pickled_recurrent_class_reads_as_its_name():
    payload = pickle.dumps({"rec_layer": GRU}, protocol=2).replace(
        b"neon_torch.layers.recurrent.gru", b"neon.layers.recurrent"
    )
    assert load_pickle(io.BytesIO(payload), "x.prm") == {"rec_layer": "neon.layers.recurrent.GRU"}
    other = pickle.dumps({"rec_layer": LookupTable}, protocol=2)
    with pytest.raises(UnsafePickleError, match="LookupTable"):
        load_pickle(io.BytesIO(other), "x.prm")


def test_onehot_is_sized_by_its_destination():
    be = gen_backend("cpu", batch_size=2)
    labels = be.array(np.array([[1, 0, 2, 1]], dtype=np.int32), dtype=np.int32)
    dest = be.zeros((5, 4))
    dest[:] = be.onehot(labels, axis=0)
    expected = np.zeros((5, 4))
    expected[[1, 0, 2, 1], range(4)] = 1
    np.testing.assert_array_equal(dest.get(), expected)
    assert be.onehot(labels, axis=0).shape == (3, 4)


def test_nested_neon_targets_convert_item_by_item():
    be = gen_backend("cpu", batch_size=2)
    t = be.array(np.arange(12, dtype=np.float32).reshape(3, 4))  # 3 features, 2 steps
    mask = be.ones((3, 4))
    out = from_neon_target(((t, mask), (t, mask)), 2)
    assert isinstance(out, tuple) and isinstance(out[0], tuple)
    assert tuple(out[1][0].shape) == (2, 2, 3)
    torch.testing.assert_close(out[0][0], from_neon_target(t, 2))


def test_save_obj_keeps_records_of_numbers_and_strings(tmp_path):
    # inference.py caches h5py's compound sentence texts with save_obj
    texts = np.zeros((3, 1), dtype=[("text", "O"), ("num_words", "<u2")])
    texts["text"] = np.array([[b"ab"], [b"c\xff"], ["d"]], dtype=object)
    texts["num_words"] = [[1], [2], [3]]
    save_obj((np.ones((3, 2), np.float32), texts, b"raw"), tmp_path / "v.prm")
    vectors, back, raw = load_obj(tmp_path / "v.prm")
    assert back.dtype == texts.dtype and back.shape == (3, 1)
    assert back["text"].ravel().tolist() == [b"ab", b"c\xff", "d"]
    np.testing.assert_array_equal(back["num_words"], texts["num_words"])
    assert raw == b"raw" and vectors.shape == (3, 2)
    objects = np.zeros(1, dtype=[("obj", "O")])
    objects["obj"][0] = object()
    with pytest.raises(PrmFormatError, match="obj"):
        save_obj(objects, tmp_path / "bad.prm")


@pytest.mark.parametrize(
    "spec",
    [
        {"dtype": [["a", "O"]], "shape": [2], "fields": {"a": ["x"]}},
        {"dtype": [["a", "V8"]], "shape": [1], "fields": {"a": ["x"]}},
        {"dtype": [["a", "O"]], "shape": [1], "fields": {"a": [["x"]]}},
        {"dtype": [["a", "<f4"]], "shape": [1], "fields": {}},
    ],
)
def test_malformed_records_are_refused(spec):
    with pytest.raises(PrmFormatError, match=r"records|record field"):
        _codec.decode({"__records__": spec}, lambda key: None)
