"""neon's machine-translation family against real neon 2.6 (fixture seq/, written by
``tests/golden/seq/make_nmt_fixture.py``): ``TextNMT`` arrays and minibatches, a
``[LookupTable, GRU, GRU]`` Seq2Seq trained 3 epochs (cost of every minibatch,
``get_outputs`` with token ids fed back, ``get_outputs_beam`` with 2 beams), a model whose
decoder reads a shorter sequence than the encoder, neon's ``.prm`` loaded here, and
``BLEUScore`` on translations and hand-given sentence sets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import NervanaDataIterator, TextNMT
from neon_torch.initializers import Uniform
from neon_torch.layers import GRU, Affine, GeneralizedCost, LookupTable, Seq2Seq
from neon_torch.models import Model
from neon_torch.optimizers import RMSProp
from neon_torch.transforms import BLEUScore, CrossEntropyMulti, Logistic, Softmax, Tanh

FOLDER = Path(__file__).parents[1] / "data" / "neon_ref" / "seq"
BSZ, STEPS, EMBED, HIDDEN, EPOCHS, SHORT = 4, 6, 5, 7, 10, 4

pytestmark = pytest.mark.skipif(
    not (FOLDER / "nmt.npz").exists(),
    reason="fixture tests/data/neon_ref/seq/nmt.npz missing (run make_nmt_fixture.py)",
)


class _CostTrace(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch) -> None:
        self.costs.append(float(model.cost.cost))


class _ShortDecoder(NervanaDataIterator):
    """The fixture's ShortDecoder: a TextNMT whose decoder reads, and whose targets hold, the
    first SHORT (reversed) target steps only."""

    def __init__(self, nmt: TextNMT, get_prev_target: bool) -> None:
        super().__init__()
        self.nmt, self.get_prev_target = nmt, get_prev_target
        self.nbatches, self.ndata, self.seq_length = nmt.nbatches, nmt.ndata, SHORT
        self.shape, self.decoder_shape = (STEPS, 1), (SHORT, 1)

    def reset(self) -> None:
        self.nmt.reset()

    def __iter__(self):
        for x, t in self.nmt:
            x = x[0] if isinstance(x, tuple) else x
            t = t[:, :SHORT]
            ids = t.argmax(-1)
            z = torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], dim=1).unsqueeze(1)
            yield ((x, z), t) if self.get_prev_target else (x, t)


def _ref() -> dict:
    return dict(np.load(FOLDER / "nmt.npz"))


def _data() -> tuple[TextNMT, TextNMT]:
    path = str(FOLDER / "nmt")
    train = TextNMT(STEPS, path, get_prev_target=True, split="train")
    return train, TextNMT(STEPS, path, split="valid")


def _model(train: TextNMT, layers: int, name: str) -> Model:
    init = Uniform(low=-0.08, high=0.08)

    def stack(vocab_size: int, part: str) -> list:
        out: list = [LookupTable(vocab_size, EMBED, init=init, name="LUT" + part)]
        for i in range(layers):
            out.append(
                GRU(
                    HIDDEN,
                    init,
                    activation=Tanh(),
                    gate_activation=Logistic(),
                    reset_cells=True,
                    name=f"GRU{i}{part}",
                )
            )
        return out

    decoder = stack(len(train.t_vocab), "Dec" + name)
    decoder.append(Affine(train.nout, init, bias=init, activation=Softmax(), name="Out" + name))
    encoder = stack(len(train.s_vocab), "Enc" + name)
    return Model(Seq2Seq([encoder, decoder], decoder_connections=list(range(layers))))


def _fit(model: Model, train) -> list[float]:
    callbacks = Callbacks(model)
    trace = _CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=RMSProp(learning_rate=0.01, gradient_clip_value=5),
        num_epochs=EPOCHS,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True)),
        callbacks=callbacks,
    )
    return trace.costs


def test_textnmt_matches_neon():
    ref = _ref()
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train, valid = _data()
    assert (train.nbatches, train.ndata, train.nout) == (ref["nbatches"], ref["ndata"], ref["nout"])
    np.testing.assert_array_equal(train.X, ref["X"])
    np.testing.assert_array_equal(train.y, ref["y"])
    assert valid.nbatches == ref["valid_nbatches"]
    np.testing.assert_array_equal(valid.y, ref["valid_y"])
    subset = TextNMT(STEPS, str(FOLDER / "nmt"), split="train", subset_pct=50)
    assert subset.nbatches == ref["subset_nbatches"]
    assert train.s_vocab[:2] == [b"<eos>", b"<unk>"] and train.t_index_to_token[0] == b"<eos>"
    for i, ((x, z), t) in enumerate(train):
        if i == 2:
            break
        # neon: ids (T, bsz); one-hot targets (nout, T*bsz) with column t*bsz + b
        assert x.shape == z.shape == (BSZ, 1, STEPS)
        np.testing.assert_array_equal(x[:, 0].T.numpy(), ref[f"mb{i}_x"])
        np.testing.assert_array_equal(z[:, 0].T.numpy(), ref[f"mb{i}_z"])
        neon_t = t.permute(2, 1, 0).reshape(ref["nout"], -1).numpy()
        np.testing.assert_array_equal(neon_t, ref[f"mb{i}_y"])


def test_lookup_table_seq2seq_matches_neon():
    ref = _ref()
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train, valid = _data()
    model = _model(train, 2, "")
    np.testing.assert_allclose(_fit(model, train), ref["cost"], rtol=1e-4)
    np.testing.assert_allclose(model.get_outputs(valid), ref["outputs"], rtol=1e-4, atol=1e-6)
    beam = model.get_outputs_beam(valid, num_beams=2)
    assert beam.shape == ref["beam"].shape == (8, STEPS, 1)
    np.testing.assert_array_equal(beam, ref["beam"])


def test_shorter_decoder_matches_neon_and_round_trips(tmp_path):
    ref = _ref()
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train, valid = _data()
    model = _model(train, 1, "S")
    np.testing.assert_allclose(
        _fit(model, _ShortDecoder(train, True)), ref["short_cost"], rtol=1e-4
    )
    short_valid = _ShortDecoder(valid, False)
    outputs = model.get_outputs(short_valid)
    np.testing.assert_allclose(outputs, ref["short_outputs"], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(
        model.get_outputs_beam(short_valid, num_beams=2), ref["short_beam"]
    )
    path = tmp_path / "short.prm"
    model.save_params(str(path))
    assert tuple(model.serialize()["train_input_shape"]) == (STEPS, 1, SHORT, 1)
    loaded = Model(str(path))
    np.testing.assert_allclose(loaded.get_outputs(short_valid), outputs, rtol=1e-6)


def test_neon_prm_loads_and_translates():
    ref = _ref()
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    _, valid = _data()
    model = Model(str(FOLDER / "nmt.prm"))
    assert isinstance(model.layers, Seq2Seq) and model.layers.decoder_connections == [0, 1]
    assert model.layers.configured_shape == (STEPS, 1, 1, 1)  # neon saved it in inference mode
    np.testing.assert_allclose(model.get_outputs(valid), ref["outputs"], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(model.get_outputs_beam(valid, num_beams=2), ref["beam"])
    assert model.layers.configured_shape == (STEPS, 1, STEPS, 1)  # configured again from data


def _same(got: float, want: float) -> bool:
    return (math.isnan(got) and math.isnan(want)) or math.isclose(got, want, rel_tol=1e-12)


def test_bleu_matches_neon(caplog):
    recorded = json.loads((FOLDER / "nmt_bleu.json").read_text())
    bleu = BLEUScore()
    for case in recorded["translations"] + recorded["cases"]:
        if "y" in case:
            score = bleu(case["y"], case["t"], **case["kwargs"])
        else:
            score = bleu(case["generated"], case["references"])
        assert _same(float(score), case["score"]), case
        assert all(_same(float(a), b) for a, b in zip(bleu.bleu_n, case["bleu_n"], strict=True))
    assert "Bleu scores: 100.0 100.0 100.0 100.0" in caplog.text


def test_str_matches_neon():
    gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    train, _ = _data()
    model = _model(train, 1, "")
    model.initialize(train)
    # printed by real neon 2.6 for the same layers and data (names aside)
    assert str(model).splitlines()[2:5] == [
        "  LookupTable Layer : 6 inputs, (5, 6) outputs size",
        "  Recurrent Layer 'GRU0Enc': 5 inputs, 7 outputs, 6 steps",
        "  LookupTable Layer : 6 inputs, (5, 6) outputs size",
    ]
