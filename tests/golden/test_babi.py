"""neon's bAbI family against real neon 2.6 (fixture babi/, written by
``tests/golden/babi/make_babi_fixture.py``): ``BABI``'s vocabulary and vectorized arrays, the
minibatches of ``QA`` (shuffled from ``be.rng``), and examples/babi's model (MergeMultistream
of two LookupTable + GRU/LSTM paths, Affine Softmax, Adam) at small sizes: the cost of every
minibatch, ``get_outputs``, ``eval`` with ``Accuracy`` and a demo.py-style ``fprop``."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import BABI, QA
from neon_torch.data.text_preprocessing import pad_sentences
from neon_torch.initializers import GlorotUniform, Orthonormal, Uniform
from neon_torch.layers import GRU, LSTM, Affine, GeneralizedCost, LookupTable, MergeMultistream
from neon_torch.models import Model
from neon_torch.optimizers import Adam
from neon_torch.transforms import Accuracy, CrossEntropyMulti, Logistic, Softmax, Tanh

FOLDER = Path(__file__).parents[1] / "data" / "neon_ref" / "babi"
TASK = "qa1_single-supporting-fact"
BSZ, EMBED, HIDDEN, EPOCHS, LR = 4, 6, 8, 3, 0.02
NP_SEED = 11
DEMO_STORY = "Mary moved to the bathroom.\nJohn went to the hallway."
DEMO_QUESTION = "Where is Mary?"


def _ref(cell: str) -> dict:
    path = FOLDER / f"babi_{cell}.npz"
    if not path.exists():
        pytest.skip(f"fixture {path} is missing; run tests/golden/babi/make_babi_fixture.py")
    return dict(np.load(path))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The fixture's two task files packed as neon's download is."""
    with tarfile.open(tmp_path / "tasks_1-20_v1-2.tar.gz", "w:gz") as tar:
        for part in ("train", "test"):
            data = (FOLDER / f"{part}.txt").read_bytes()
            info = tarfile.TarInfo(f"tasks_1-20_v1-2/en/{TASK}_{part}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return tmp_path


class _CostTrace(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch) -> None:
        self.costs.append(float(model.cost.cost))


def _model(vocab_size: int, cell: str) -> Model:
    kind = GRU if cell == "gru" else LSTM
    activations = (Tanh(), Logistic()) if cell == "gru" else (Logistic(), Tanh())
    params = dict(
        output_size=HIDDEN,
        reset_cells=True,
        init=GlorotUniform(),
        init_inner=Orthonormal(0.5),
        activation=activations[0],
        gate_activation=activations[1],
    )
    lookup = dict(vocab_size=vocab_size, embedding_dim=EMBED, init=Uniform(-0.05, 0.05))
    paths = [[LookupTable(**lookup), kind(**params)] for _ in range(2)]
    return Model(
        layers=[
            MergeMultistream(layers=paths, merge="stack"),
            Affine(vocab_size, init=GlorotUniform(), activation=Softmax()),
        ]
    )


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_babi_training_matches_neon(cell, data_dir, tmp_path):
    ref = _ref(cell)
    be = gen_backend("cpu", rng_seed=0, batch_size=BSZ)
    babi = BABI(path=str(data_dir), task=TASK)
    assert babi.vocab == list(ref["vocab"])
    assert (babi.vocab_size, babi.story_maxlen, babi.query_maxlen) == (
        int(ref["vocab_size"]),
        int(ref["story_maxlen"]),
        int(ref["query_maxlen"]),
    )
    for part in ("train", "test"):
        for key, array in zip(("story", "query", "answer"), getattr(babi, part), strict=True):
            np.testing.assert_array_equal(array, ref[f"{part}/{key}"], err_msg=f"{part}/{key}")
            assert array.dtype == ref[f"{part}/{key}"].dtype

    train, valid = QA(*babi.train), QA(*babi.test)
    assert (train.ndata, train.nbatches) == (17, 4)
    batches = list(train)
    assert len(batches) == 4
    for k, ((story, query), answer) in enumerate(batches):
        for key, got in (("story", story), ("query", query), ("answer", answer)):
            np.testing.assert_array_equal(got.cpu().numpy().T, ref[f"mb/{k}/{key}"], err_msg=key)

    np.random.seed(NP_SEED)  # Orthonormal draws from the global numpy generator
    model = _model(babi.vocab_size, cell)
    callbacks = Callbacks(model, eval_set=valid, eval_freq=1)
    trace = _CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=Adam(learning_rate=LR),
        num_epochs=EPOCHS,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti()),
        callbacks=callbacks,
    )
    np.testing.assert_allclose(trace.costs, ref["cost"], rtol=1e-4)
    np.testing.assert_allclose(model.get_outputs(valid), ref["outputs"], rtol=1e-4, atol=1e-6)
    accuracy = np.asarray(model.eval(valid, metric=Accuracy()))
    np.testing.assert_allclose(accuracy.ravel(), ref["accuracy"].ravel(), rtol=1e-6)

    be.bsz = 1
    story = be.array(
        pad_sentences([babi.words_to_vector(BABI.tokenize(DEMO_STORY))], babi.story_maxlen)
    )
    query = be.array(
        pad_sentences([babi.words_to_vector(BABI.tokenize(DEMO_QUESTION))], babi.query_maxlen)
    )
    model.save_params(str(tmp_path / "babi.prm"))
    demo = _model(babi.vocab_size, cell)
    demo.load_params(str(tmp_path / "babi.prm"))
    demo.initialize(dataset=QA(*babi.test))
    probs = demo.fprop(x=(story, query), inference=True).get()
    np.testing.assert_allclose(probs, ref["demo_probs"], rtol=1e-4, atol=1e-6)
