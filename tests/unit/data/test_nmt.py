"""TextNMT (neon's NMT sentence-pair HDF5 files), BLEUScore, and Seq2Seq inference with a
LookupTable decoder and a decoder shape of its own."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import DatasetFileError, DatasetFormatError, NervanaDataIterator, TextNMT
from neon_torch.errors import ShapeMismatchError
from neon_torch.initializers import Uniform
from neon_torch.layers import GRU, Affine, GeneralizedCost, LookupTable, Seq2Seq
from neon_torch.models import Model
from neon_torch.optimizers import RMSProp
from neon_torch.transforms import BLEUScore, CrossEntropyMulti, Logistic, Softmax, Tanh

T = 4


@pytest.fixture(autouse=True)
def _backend():
    gen_backend("cpu", rng_seed=0, batch_size=2)


def _h5(folder: Path, split: str, n: int, modulo: int = 7, drop_y: bool = False) -> Path:
    """``n`` sentence pairs: source ids ``10·i + j`` mod ``modulo`` + 2, target ids
    ``i + j`` mod 5 + 2."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = np.arange(n)[:, None]
    cols = np.arange(T)[None, :]
    with h5py.File(folder / f"un2000-{split}.h5", "w") as f:
        f.create_dataset(
            "s_vocab", data=np.array([b"<eos>", b"<unk>"] + [b"s%d" % i for i in range(7)])
        )
        f.create_dataset(
            "t_vocab", data=np.array([b"<eos>", b"<unk>"] + [b"t%d" % i for i in range(5)])
        )
        f.create_dataset("X", data=((10 * rows + cols) % modulo + 2).astype(float))
        if not drop_y:
            f.create_dataset("y", data=((rows + cols) % 5 + 2).astype(float))
    return folder


def test_textnmt_layout_and_minibatches(tmp_path):
    path = str(_h5(tmp_path, "train", 7))
    data = TextNMT(T, path, get_prev_target=True, split="train")
    assert (data.nbatches, data.ndata, data.nclass, data.nout) == (3, 6, 7, 7)
    assert data.shape == data.decoder_shape == (T, 1)
    assert data.s_vocab[:2] == [b"<eos>", b"<unk>"] and data.t_token_to_index[b"t0"] == 2
    assert data.X.shape == data.y.shape == (2, 3, T)
    assert data.y[1, 0].tolist() == [5, 6, 2, 3]  # pair 3 (row n*nbatches + k), reading order
    batches = list(data)
    assert len(batches) == 3
    (x, z), t = batches[0]
    assert x.shape == z.shape == (2, 1, T) and t.shape == (2, T, 7)
    assert x[1, 0].tolist() == [4, 5, 6, 7]  # pair 3 source
    assert t.argmax(-1)[1].tolist() == [3, 2, 6, 5]  # targets reversed in time
    assert z[1, 0].tolist() == [0, 3, 2, 6]  # reversed targets one step late
    data.reset()
    assert data.batch_index == 0
    with pytest.raises(DatasetFormatError, match="source id 8 is not below nclass 7"):
        TextNMT(T, path, onehot_input=True, split="train")  # neon: one-hot over t_vocab
    onehot = TextNMT(
        T, str(_h5(tmp_path / "small", "train", 4, modulo=5)), onehot_input=True, split="train"
    )
    x, _ = next(iter(onehot))
    assert onehot.shape == (7, T) and x.shape == (2, T, 7) and x[0, 0].argmax() == 2
    assert TextNMT(T, path, split="train", subset_pct=50).nbatches == 1  # int(7 * .5) = 3 pairs


def test_textnmt_errors(tmp_path):
    with pytest.raises(DatasetFileError, match=r"Put un2000-valid\.h5 .* at .*un2000-valid\.h5"):
        TextNMT(T, str(tmp_path), split="valid")
    with pytest.raises(DatasetFormatError, match="dataset 'wmt'"):
        TextNMT(T, str(tmp_path), split="train", dataset="wmt")
    _h5(tmp_path / "a", "train", 1)
    with pytest.raises(ShapeMismatchError, match="1 sentence pairs are fewer than one minibatch"):
        TextNMT(T, str(tmp_path / "a"), split="train")
    _h5(tmp_path / "b", "train", 4, drop_y=True)
    with pytest.raises(DatasetFormatError, match="no dataset"):
        TextNMT(T, str(tmp_path / "b"), split="train")
    _h5(tmp_path / "c", "train", 4)
    with pytest.raises(DatasetFormatError, match="time_steps 5"):
        TextNMT(5, str(tmp_path / "c"), split="train")


def test_bleu_rules(caplog):
    bleu = BLEUScore()
    with caplog.at_level(logging.INFO, logger="neon"):
        same = bleu(["The cat sat."], [["the cat sat"]], N=3)
    assert same == pytest.approx(100 * (1 + 1e-7)) and len(bleu.bleu_n) == 3
    assert "Bleu scores: 100.0 100.0 100.0" in caplog.text
    # references are not lower-cased; candidates are unless lower_case=False
    assert bleu(["the cat"], [["The cat"]], N=1) == pytest.approx(50 + 1e-5)
    assert bleu(["The cat"], [["the cat"]], N=1, lower_case=False) == pytest.approx(50 + 1e-5)
    # an n-gram holding the unk symbol is never credited
    assert bleu(["<unk> cat"], [["<unk> cat"]], N=1) == pytest.approx(50 + 1e-5)
    # clipped counts: "the" twice in the candidate, once in the reference
    assert bleu(["the the"], [["the cat"]], N=1) == pytest.approx(50 + 1e-5)
    # brevity penalty from the LAST reference's length (neon's closest-length search)
    got = bleu(["a b"], [["a b c d", "a b c"]], N=1, brevity_penalty=True)
    assert got == pytest.approx(100 * (1 + 1e-7) * math.exp(1 - 3 / 2))
    assert math.isnan(bleu(["a"], [["a"]], N=2))  # no bigram in the candidates: 0/0


class _Pairs(NervanaDataIterator):
    """Random token pairs: encoder reads 5 ids, decoder 3 (decoder_shape != shape)."""

    def __init__(self, train: bool) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.x = torch.randint(0, 6, (4, 1, 5), generator=g)
        self.t = torch.randint(0, 4, (4, 3), generator=g)
        self.train = train
        self.nbatches, self.ndata = 2, 4
        self.shape, self.decoder_shape = (5, 1), (3, 1)

    def __iter__(self):
        for k in range(2):
            x, t = self.x[2 * k : 2 * k + 2], self.t[2 * k : 2 * k + 2]
            onehot = torch.nn.functional.one_hot(t, 4).float()
            z = torch.cat([torch.zeros_like(t[:, :1]), t[:, :-1]], dim=1).unsqueeze(1)
            yield ((x, z), onehot) if self.train else (x, onehot)


def _lut_model() -> Model:
    init = Uniform(low=-0.5, high=0.5)

    def gru() -> GRU:
        return GRU(6, init, activation=Tanh(), gate_activation=Logistic(), reset_cells=True)

    decoder = [LookupTable(4, 3, init=init), gru(), Affine(4, init, activation=Softmax())]
    return Model(Seq2Seq([[LookupTable(6, 3, init=init), gru()], decoder]))


def test_lookup_table_decoder_feeds_back_argmax_ids(tmp_path):
    model = _lut_model()
    model.fit(
        _Pairs(True),
        optimizer=RMSProp(),
        num_epochs=1,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti()),
    )
    s2s = model.layers
    assert s2s.configured_shape == (5, 1, 3, 1)
    x = _Pairs(False).x[:2]
    with torch.no_grad():
        outputs = model.fprop(x, inference=True)
        states = s2s.encode(x)
        ids, manual = torch.zeros(2, 1, dtype=torch.long), []
        with s2s.one_step():
            for _ in range(3):
                y = s2s.decoder.run(ids, states)
                states = s2s.decoder_states()
                manual.append(y)
                ids = y.argmax(-1)
    assert outputs.shape == (2, 3, 4)
    torch.testing.assert_close(outputs, torch.cat(manual, dim=1))
    assert s2s.decoder.layers[0].nin == 3  # the full length is back after inference
    valid = _Pairs(False)
    greedy = model.get_outputs(valid).argmax(-1)
    beam1 = model.get_outputs_beam(valid, num_beams=1)
    assert beam1.shape == (4, 3)  # steps (3) differ from seq_length: no trailing axis
    np.testing.assert_array_equal(beam1, greedy)  # one beam is greedy decoding
    assert model.serialize()["train_input_shape"] == (5, 1, 3, 1)
    path = tmp_path / "lut.prm"
    model.save_params(str(path))
    loaded = Model(str(path))
    np.testing.assert_allclose(loaded.get_outputs(valid), model.get_outputs(valid), rtol=1e-6)
