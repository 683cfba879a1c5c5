"""Record neon 2.6's bAbI loader, its QA iterator and a small seeded run of examples/babi's model.

Run with the real neon (not neon_torch), from the repository root::

    env PYTHONPATH=/work/real_neon/src /work/real_neon/venv/bin/python \
        tests/golden/babi/make_babi_fixture.py tests/data/neon_ref/babi

Writes into that folder:

* ``train.txt`` / ``test.txt``: a tiny task-1-style bAbI dataset written by this script (stories
  of numbered lines, questions ``"N Where is X? <TAB>place<TAB>supporting id"``); the
  train file has 17 questions, so with batch size 4 one question is left out of every epoch;
* ``babi_gru.npz`` and ``babi_lstm.npz``, one per recurrent layer type:
  ``vocab`` (the sorted words), ``vocab_size``, ``story_maxlen``, ``query_maxlen``,
  ``train/story|query|answer`` and ``test/...`` (what ``BABI.train`` / ``BABI.test`` hold);
  ``mb/<k>/story|query|answer`` the k-th minibatch of a first pass over ``QA(*babi.train)``
  (neon's device buffers: ``(story_length, bsz)``, ``(query_length, bsz)``,
  ``(vocab_size, bsz)``); ``cost`` (``model.cost.cost`` after every minibatch of a
  three-epoch ``fit`` with ``Adam(learning_rate=0.02)`` and an eval callback on the test set
  every epoch); ``outputs``
  (``get_outputs`` on the test set after training); ``accuracy`` (``eval`` with
  ``Accuracy`` on the test set after that); ``demo_probs`` (a demo.py-style ``fprop`` of
  one vectorized story and question with ``be.bsz = 1``, shape ``(vocab_size, 1)``).

The model is examples/babi/util.py's ``create_model`` at small sizes (embedding 6, 8 recurrent
units), built after ``np.random.seed(NP_SEED)``: ``Orthonormal`` draws from numpy's global
generator, which neon never seeds. The files are read from ``tasks_1-20_v1-2.tar.gz``, built
here in a temporary folder the way neon's download is laid out.

neon's ``BABI.tokenize`` splits on ``'(\\W+)?'``, which Python 3.7+ also splits on empty
matches (yielding None and single characters); it is replaced here by the split Python < 3.7
made, on the non-empty matches ``'(\\W+)'``, as the legacy harness does.
"""

import io
import os
import re
import shutil
import sys
import tarfile
import tempfile

import numpy as np
from neon.backends import gen_backend
from neon.callbacks.callbacks import Callback, Callbacks
from neon.data import BABI, QA
from neon.data.text_preprocessing import pad_sentences
from neon.initializers import GlorotUniform, Orthonormal, Uniform
from neon.layers import GRU, LSTM, Affine, GeneralizedCost, LookupTable, MergeMultistream
from neon.models import Model
from neon.optimizers import Adam
from neon.transforms import Accuracy, CrossEntropyMulti, Logistic, Softmax, Tanh

BSZ, EMBED, HIDDEN, EPOCHS, LR = 4, 6, 8, 3, 0.02
NP_SEED = 11
TASK = "qa1_single-supporting-fact"
PEOPLE = ["Mary", "John", "Sandra", "Daniel"]
MOVES = ["moved to", "went to", "journeyed to", "travelled to", "went back to"]
PLACES = ["bathroom", "hallway", "garden", "office", "kitchen"]
DEMO_STORY = "Mary moved to the bathroom.\nJohn went to the hallway."
DEMO_QUESTION = "Where is Mary?"


def tokenize(sentence):
    return [x.strip() for x in re.split(r"(\W+)", sentence) if x.strip()]


BABI.tokenize = staticmethod(tokenize)


def write_task(rng, questions_per_story):
    """bAbI text: one story per entry of ``questions_per_story``, two moves per question."""
    lines = []
    for n_questions in questions_per_story:
        where, nid = {}, 1
        for _ in range(n_questions):
            for _ in range(2):
                who = PEOPLE[rng.randint(len(PEOPLE))]
                place = PLACES[rng.randint(len(PLACES))]
                move = MOVES[rng.randint(len(MOVES))]
                lines.append(f"{nid} {who} {move} the {place}.")
                where[who] = (place, nid)
                nid += 1
            who = sorted(where)[rng.randint(len(where))]
            lines.append(f"{nid} Where is {who}? \t{where[who][0]}\t{where[who][1]}")
            nid += 1
    return "\n".join(lines) + "\n"


def make_archive(folder, train_text, test_text):
    """``tasks_1-20_v1-2.tar.gz`` with the two task files, in ``folder``."""
    with tarfile.open(os.path.join(folder, "tasks_1-20_v1-2.tar.gz"), "w:gz") as tar:
        for part, text in (("train", train_text), ("test", test_text)):
            data = text.encode("ascii")
            info = tarfile.TarInfo(f"tasks_1-20_v1-2/en/{TASK}_{part}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


class CostTrace(Callback):
    """Keep ``model.cost.cost`` after every minibatch."""

    def __init__(self):
        super().__init__()
        self.costs = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch):
        self.costs.append(float(np.asarray(model.cost.cost).ravel()[0]))


def create_model(vocab_size, cell):
    kind = GRU if cell == "gru" else LSTM
    params = dict(
        output_size=HIDDEN,
        reset_cells=True,
        init=GlorotUniform(),
        init_inner=Orthonormal(0.5),
        activation=Tanh(),
        gate_activation=Logistic(),
    )
    if cell == "lstm":
        params.update(dict(activation=Logistic(), gate_activation=Tanh()))
    lookup = dict(vocab_size=vocab_size, embedding_dim=EMBED, init=Uniform(-0.05, 0.05))
    story = [LookupTable(**lookup), kind(**params)]
    query = [LookupTable(**lookup), kind(**params)]
    return Model(
        layers=[
            MergeMultistream(layers=[story, query], merge="stack"),
            Affine(vocab_size, init=GlorotUniform(), activation=Softmax()),
        ]
    )


def record(folder, data_dir, cell):
    be = gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    babi = BABI(path=data_dir, task=TASK)
    out = {
        "vocab": np.array(babi.vocab),
        "vocab_size": np.array(babi.vocab_size),
        "story_maxlen": np.array(babi.story_maxlen),
        "query_maxlen": np.array(babi.query_maxlen),
    }
    for part in ("train", "test"):
        for key, array in zip(("story", "query", "answer"), getattr(babi, part), strict=True):
            out[f"{part}/{key}"] = array
    train, valid = QA(*babi.train), QA(*babi.test)
    for k, ((story, query), answer) in enumerate(train):
        out[f"mb/{k}/story"] = story.get()
        out[f"mb/{k}/query"] = query.get()
        out[f"mb/{k}/answer"] = answer.get()
    np.random.seed(NP_SEED)  # Orthonormal draws from the global numpy generator
    model = create_model(babi.vocab_size, cell)
    callbacks = Callbacks(model, eval_set=valid, eval_freq=1)
    trace = CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=Adam(learning_rate=LR),
        num_epochs=EPOCHS,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti()),
        callbacks=callbacks,
    )
    out["cost"] = np.array(trace.costs)
    out["outputs"] = model.get_outputs(valid)
    out["accuracy"] = np.array(model.eval(valid, metric=Accuracy()))
    be.bsz = 1
    story = be.array(
        pad_sentences([babi.words_to_vector(BABI.tokenize(DEMO_STORY))], babi.story_maxlen)
    )
    query = be.array(
        pad_sentences([babi.words_to_vector(BABI.tokenize(DEMO_QUESTION))], babi.query_maxlen)
    )
    demo = create_model(babi.vocab_size, cell)
    model.save_params(os.path.join(data_dir, "babi.prm"))
    demo.load_params(os.path.join(data_dir, "babi.prm"))
    demo.initialize(dataset=QA(*babi.test))
    out["demo_probs"] = demo.fprop(x=(story, query), inference=True).get()
    np.savez_compressed(os.path.join(folder, f"babi_{cell}.npz"), **out)


def main(folder):
    rng = np.random.RandomState(5)
    train_text = write_task(rng, [3, 2, 4, 1, 3, 2, 2])
    test_text = write_task(rng, [2, 3, 1, 2])
    for name, text in (("train.txt", train_text), ("test.txt", test_text)):
        with open(os.path.join(folder, name), "w") as handle:
            handle.write(text)
    for cell in ("gru", "lstm"):
        data_dir = tempfile.mkdtemp(prefix="babi_fixture_")
        try:
            make_archive(data_dir, train_text, test_text)
            record(folder, data_dir, cell)
        finally:
            shutil.rmtree(data_dir)


if __name__ == "__main__":
    main(sys.argv[1])
