"""neon's image-captioning family against real neon 2.6 (fixture caption/, written by
``tests/golden/caption/make_caption_fixture.py``): ``Flickr8k``'s vocabulary, ``bias_init`` and
counts, two shuffled passes of ``ImageCaption`` minibatches, a seeded run of
``examples/image_caption.py``'s model at hidden size 8 (the cost of every minibatch, the
``cost/train`` neon's callbacks record, the trained parameters, the output on a test
minibatch), ``ImageCaptionTest.predict``'s greedy captions and the ``output`` /
``reference<i>`` files ``bleu_score`` writes for ``multi-bleu.perl``.

Set ``NEON_TORCH_MULTI_BLEU`` to Karpathy's ``multi-bleu.perl`` to also compare the BLEU line
it prints with the one recorded under neon."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import Flickr8k, ImageCaption
from neon_torch.initializers import Array, Constant, Uniform
from neon_torch.layers import (
    LSTM,
    Affine,
    Dropout,
    GeneralizedCostMask,
    MergeMultistream,
    Sequential,
)
from neon_torch.models import Model
from neon_torch.optimizers import RMSProp, get_param_list
from neon_torch.transforms import CrossEntropyMulti, Logistic, Softmax, Tanh

FOLDER = Path(__file__).parents[1] / "data" / "neon_ref" / "caption"
BSZ, HIDDEN, EPOCHS = 4, 8, 8
OPTIMIZER = dict(decay_rate=0.99, learning_rate=0.02, epsilon=1e-3, gradient_clip_value=1)
_BACKEND_EXTRA: dict = {}
FINGERPRINT = (np.arange(4096) % 7 + 1).astype(np.float64)

pytestmark = pytest.mark.skipif(
    not (FOLDER / "caption.npz").exists(),
    reason="fixture caption/ missing: run tests/golden/caption/make_caption_fixture.py",
)


@pytest.fixture(scope="module")
def ref() -> dict:
    return dict(np.load(FOLDER / "caption.npz"))


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads((FOLDER / "caption.json").read_text())


def _neon_layout(a) -> np.ndarray:
    """A batch-first ``(bsz, T, F)`` tensor in neon's ``(F, T · bsz)`` layout."""
    a = a.detach().cpu().numpy()
    return a.transpose(2, 1, 0).reshape(a.shape[2], -1)


def _replay_data(tmp_path: Path) -> tuple[Flickr8k, list]:
    """What the generator does before training: the dataset from the zip, two passes over the
    training iterator (they draw two permutations from ``be.rng``) and a ``max_images`` one."""
    shutil.copy(FOLDER / "flickr8k.zip", tmp_path / "flickr8k.zip")
    gen_backend("cpu", rng_seed=0, batch_size=BSZ, **_BACKEND_EXTRA)
    data = Flickr8k(path=str(tmp_path))
    passes = [list(data.train_iter) for _ in range(2)]
    small = ImageCaption(path=str(tmp_path / "flickr8k"), max_images=10)
    return data, [passes, small]


def test_vocabulary_and_counts_match_neon(tmp_path, ref, record):
    data, (_, small) = _replay_data(tmp_path)
    train, test = data.train_iter, data.test_iter
    assert [train.index_to_vocab[i] for i in range(train.vocab_size)] == record["vocab"]
    np.testing.assert_allclose(train.bias_init, ref["vocab/bias_init"], rtol=1e-12)
    assert [train.vocab_size, train.max_sentence_length] == ref["vocab/facts"].tolist()
    assert train.shape == [4096, (train.vocab_size, train.max_sentence_length)]
    assert [train.nbatches, train.ndata, len(train.X)] == ref["train/counts"].tolist()
    assert [test.nbatches, test.ndata, len(test.images)] == ref["test/counts"].tolist()
    assert [small.nbatches, small.ndata, len(small.X)] == ref["small/counts"].tolist()
    assert test.ref_sents == record["targets"]


def test_shuffled_minibatches_match_neon(tmp_path, ref):
    _, (passes, _) = _replay_data(tmp_path)
    for p, batches in enumerate(passes):
        assert len(batches) == ref["train/counts"][0]
        for k, ((img, x), (y, mask)) in enumerate(batches):
            key = f"pass{p}/{k}"
            cols = img.detach().cpu().numpy().T.astype(np.float64)
            prints = np.stack([cols.sum(axis=0), FINGERPRINT @ cols])
            np.testing.assert_allclose(prints, ref[f"{key}/img"], rtol=1e-6, err_msg=key)
            for name, got in (("x", x), ("y", y), ("mask", mask)):
                np.testing.assert_array_equal(
                    _neon_layout(got), ref[f"{key}/{name}"], err_msg=f"{key}/{name}"
                )


class _CostTrace(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch) -> None:
        self.costs.append(float(model.cost.cost))


def _model(train: ImageCaption) -> Model:
    init = Uniform(low=-0.08, high=0.08)
    image_path = Sequential([Affine(HIDDEN, init, bias=Constant(val=0.0))])
    sent_path = Sequential([Affine(HIDDEN, init, name="sent")])
    return Model(
        layers=[
            MergeMultistream(layers=[image_path, sent_path], merge="recurrent"),
            Dropout(keep=0.5),
            LSTM(HIDDEN, init, activation=Logistic(), gate_activation=Tanh(), reset_cells=True),
            Affine(
                train.vocab_size,
                init,
                bias=Array(val=train.be.array(train.bias_init)),
                activation=Softmax(),
            ),
        ]
    )


_STAND_IN = """my $n = 0; while (<STDIN>) { $n++; }
my @refs = sort glob("reference*");
print "hypotheses=$n references=@refs\\n";
"""


def test_training_prediction_and_bleu_files_match_neon(tmp_path, ref, record, capsys):
    data, _ = _replay_data(tmp_path)
    train, test = data.train_iter, data.test_iter
    model = _model(train)
    callbacks = Callbacks(model)
    trace = _CostTrace()
    callbacks.add_callback(trace)
    opt = RMSProp(**OPTIMIZER)
    cost = GeneralizedCostMask(costfunc=CrossEntropyMulti(usebits=True))
    model.fit(train, optimizer=opt, num_epochs=EPOCHS, cost=cost, callbacks=callbacks)

    np.testing.assert_allclose(trace.costs, ref["train/cost"], rtol=1e-4)
    # GeneralizedCostMask overwrites neon's cost array in place: cost/train is no moving mean
    np.testing.assert_allclose(
        callbacks.callback_data["cost/train"], ref["train/callback_cost"], rtol=1e-4
    )
    for i, ((param, _), _) in enumerate(get_param_list(model.layers_to_optimize)):
        value = np.asarray(param.get())
        if value.shape[1] == 4096:
            value = np.hstack([value[:, :64], value.astype(np.float64) @ FINGERPRINT[:, None]])
        np.testing.assert_allclose(value, ref[f"param/{i}"], rtol=1e-3, atol=1e-5, err_msg=i)
    (img, caption), _ = next(iter(test))
    out = model.fprop([img, caption], inference=True)
    np.testing.assert_allclose(_neon_layout(out), ref["test/output0"], rtol=1e-4, atol=1e-6)

    sents, targets = test.predict(model)
    assert sents == record["predicted"]
    assert targets == record["targets"]
    data_dir = tmp_path / "flickr8k"
    script = os.environ.get("NEON_TORCH_MULTI_BLEU")
    if script:
        shutil.copy(script, data_dir / "multi-bleu.perl")
    else:
        (data_dir / "multi-bleu.perl").write_text(_STAND_IN)
    if shutil.which("perl") is None:
        pytest.skip("no perl to run multi-bleu.perl")
    capsys.readouterr()
    test.bleu_score(sents, targets)
    printed = capsys.readouterr().out
    written = {
        p.name: p.read_text()
        for p in sorted(data_dir.iterdir())
        if p.name == "output" or p.name.startswith("reference")
    }
    assert written == record["files"]
    if script:
        assert record["bleu_line"] in printed
    else:
        refs = " ".join(sorted(n for n in written if n.startswith("reference")))
        assert f"hypotheses={len(sents)} references={refs}\n" in printed
