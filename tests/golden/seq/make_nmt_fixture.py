"""Record neon 2.6's machine-translation pieces on a tiny made-up parallel corpus.

Run with the real neon (not neon_torch), from the repository root::

    env PYTHONPATH=/work/real_neon/src /work/real_neon/venv/bin/python \
        tests/golden/seq/make_nmt_fixture.py tests/data/neon_ref/seq

Writes, in that folder:

* ``nmt/un2000-{train,valid}.h5``: the corpus in the format of neon's
  ``examples/nmt/data.py`` (``s_vocab``, ``t_vocab`` byte strings, ``X``, ``y`` float
  ``(sentences, T)``, right-aligned ids, 0-padded), built here from a fixed word-for-word
  "translation" with a few reordered words;
* ``nmt.npz``: ``TextNMT`` facts (``nbatches``, ``ndata``, the ``(bsz, nbatches, T)`` arrays,
  ``subset_nbatches`` for ``subset_pct=50``), the first two training minibatches in neon's
  device layout (``mb{i}_x`` / ``mb{i}_z`` ``(T, bsz)`` ids, ``mb{i}_y`` ``(nout, T·bsz)``),
  then for a ``[LookupTable, GRU, GRU]`` encoder and decoder (``decoder_connections [0, 1]``)
  trained 3 epochs: ``cost`` (every minibatch), ``outputs`` (``get_outputs`` of the valid
  set), ``beam`` (``get_outputs_beam``, 2 beams), and for a one-layer model whose decoder reads
  a shorter sequence than the encoder (``decoder_shape`` != ``shape``): ``short_cost``,
  ``short_outputs``, ``short_beam``;
* ``nmt.prm``: neon's ``.prm`` of the trained two-layer model, saved after inference (so its
  decoder is recorded one step long, as neon leaves it);
* ``nmt_bleu.json``: ``BLEUScore`` on the greedy and beam translations of the valid set
  (formatted as ``examples/nmt/train.py`` does) and on hand-given sentence sets.
"""

import json
import os
import sys

import h5py
import numpy as np
from neon.backends import gen_backend
from neon.callbacks.callbacks import Callback, Callbacks
from neon.data.dataiterator import NervanaDataIterator
from neon.data.text import TextNMT
from neon.initializers import Uniform
from neon.layers import GRU, Affine, GeneralizedCost, LookupTable, Seq2Seq
from neon.models import Model
from neon.optimizers import RMSProp
from neon.transforms import CrossEntropyMulti, Logistic, Softmax, Tanh
from neon.transforms.cost import BLEUScore

BSZ, STEPS, EMBED, HIDDEN, EPOCHS, SHORT = 4, 6, 5, 7, 10, 4
SOURCE = "le la un une chat chien voit mange petit grand rouge vert pomme"
TARGET = "the the a a cat dog sees eats small big red green apple"

# hand-given BLEU cases: (candidates, references, keyword arguments)
BLEU_CASES = [
    (["the cat sat on the mat."], [["the cat sat on a mat"]], {}),
    (
        ["The Cat sees a dog", "a red apple", "<unk> eats"],
        [["the cat sees the dog", "a cat sees a dog"], ["a red apple"], ["a dog eats"]],
        {"N": 2},
    ),
    (["the cat"], [["the cat sat on the mat"]], {"brevity_penalty": True}),
    (["The cat sat"], [["the cat sat"]], {"lower_case": False, "N": 3}),
    (["x y z w v"], [["x y z w v", "x y"]], {"brevity_penalty": True}),
]


class CostTrace(Callback):
    """Keep ``model.cost.cost`` after every minibatch."""

    def __init__(self):
        super().__init__()
        self.costs = []

    def on_minibatch_end(self, callback_data, model, epoch, minibatch):
        self.costs.append(float(np.asarray(model.cost.cost).ravel()[0]))


def corpus(rng, n):
    """``n`` (French, English) sentence pairs of 2..8 words (adjectives follow the noun in
    French); a few are longer than STEPS words, as in the real corpus."""
    src, tgt = SOURCE.split(), TARGET.split()
    pairs = []
    for _ in range(n):
        ids = list(rng.randint(0, len(src), rng.randint(2, STEPS + 3)))
        pairs.append((" ".join(src[i] for i in ids[::-1]) + ".", " ".join(tgt[i] for i in ids)))
    return pairs


def vocab(sentences):
    """``['<eos>', '<unk>']`` then the words by decreasing count (data.py's parse_vocab)."""
    from collections import Counter

    counts = Counter(w for s in sentences for w in s.lower().replace(".", "").split())
    return ["<eos>", "<unk>"] + [w for w, _ in counts.most_common()]


def matrix(sentences, words, keep):
    """data.py's create_data: right-aligned word ids, 0-padded, 1 for an unknown word."""
    index = {w: i for i, w in enumerate(words)}
    rows = []
    for sentence, k in zip(sentences, keep, strict=False):
        if k:
            tokens = sentence.lower().replace(".", "").split()[:STEPS]
            row = np.zeros(STEPS)
            row[STEPS - len(tokens) :] = [index.get(t, 1) for t in tokens]
            rows.append(row)
    return np.array(rows)


def write_corpus(folder):
    rng = np.random.RandomState(7)
    pairs = corpus(rng, 40)
    train, valid = pairs[:30], pairs[30:]
    s_vocab = vocab([f for f, _ in train])
    t_vocab = vocab([e for _, e in train])
    os.makedirs(os.path.join(folder, "nmt"), exist_ok=True)
    for split, part in (("train", train), ("valid", valid)):
        keep = [len(f.split()) <= STEPS for f, _ in part]
        with h5py.File(os.path.join(folder, "nmt", f"un2000-{split}.h5"), "w") as f:
            f.create_dataset("s_vocab", data=np.array([w.encode() for w in s_vocab]))
            f.create_dataset("t_vocab", data=np.array([w.encode() for w in t_vocab]))
            f.create_dataset("X", data=matrix([p[0] for p in part], s_vocab, keep))
            f.create_dataset("y", data=matrix([p[1] for p in part], t_vocab, keep))


class ShortDecoder(NervanaDataIterator):
    """A TextNMT whose decoder reads (and the targets hold) the last SHORT steps only."""

    def __init__(self, nmt, get_prev_target):
        super().__init__(name=None)
        self.nmt, self.get_prev_target = nmt, get_prev_target
        self.nbatches, self.ndata, self.seq_length = nmt.nbatches, nmt.ndata, SHORT
        self.shape, self.decoder_shape = (STEPS, 1), (SHORT, 1)
        self.dev_z = self.be.iobuf(SHORT, dtype=np.int32)
        self.dev_y = self.be.iobuf((nmt.nout, SHORT))

    def reset(self):
        self.nmt.reset()

    def __iter__(self):
        for x, y in self.nmt:
            x = x[0] if isinstance(x, tuple) else x
            self.dev_y[:] = y[:, : SHORT * self.be.bsz]
            ids = np.argmax(self.dev_y.get(), axis=0).reshape(SHORT, self.be.bsz)
            z = np.vstack([np.zeros((1, self.be.bsz)), ids[:-1]])
            self.dev_z.set(z.astype(np.int32))
            yield ((x, self.dev_z), self.dev_y) if self.get_prev_target else (x, self.dev_y)


def seq2seq(train, layers, name):
    init = Uniform(low=-0.08, high=0.08)

    def stack(vocab_size, part):
        out = [
            LookupTable(vocab_size=vocab_size, embedding_dim=EMBED, init=init, name="LUT" + part)
        ]
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
    return Model(layers=Seq2Seq([encoder, decoder], decoder_connections=list(range(layers))))


def fit(model, train):
    callbacks = Callbacks(model)
    trace = CostTrace()
    callbacks.add_callback(trace)
    model.fit(
        train,
        optimizer=RMSProp(learning_rate=0.01, gradient_clip_value=5),
        num_epochs=EPOCHS,
        cost=GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True)),
        callbacks=callbacks,
    )
    return np.array(trace.costs)


def bleu_format(examples, words, nbatches):
    """examples/nmt/train.py's bleu_format: sentence (b, ex) is ``examples[ex, b, :]``."""
    return [
        " ".join(words[k].decode("utf-8") for k in examples[ex, b, :] if k != 0)
        for b in range(nbatches)
        for ex in range(BSZ)
    ]


def main(folder):
    write_corpus(folder)
    gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    path = os.path.join(folder, "nmt")
    train = TextNMT(STEPS, path, get_prev_target=True, split="train")
    valid = TextNMT(STEPS, path, split="valid")
    subset = TextNMT(STEPS, path, split="train", subset_pct=50)
    ref = dict(
        nbatches=train.nbatches,
        ndata=train.ndata,
        X=train.X,
        y=train.y,
        valid_nbatches=valid.nbatches,
        valid_X=valid.X,
        valid_y=valid.y,
        subset_nbatches=subset.nbatches,
        nout=train.nout,
    )
    for i, ((x, z), y) in enumerate(train):
        if i < 2:
            ref.update({f"mb{i}_x": x.get(), f"mb{i}_z": z.get(), f"mb{i}_y": y.get()})

    model = seq2seq(train, 2, "")
    ref["cost"] = fit(model, train)
    ref["outputs"] = model.get_outputs(valid)
    ref["beam"] = model.get_outputs_beam(valid, num_beams=2)
    # saved in inference mode: train_input_shape records the one-step decoder (6, 1, 1, 1)
    # and the decoder's layer names carry neon's "'" suffix
    model.save_params(os.path.join(folder, "nmt.prm"))

    # a fresh backend (RNG seeded again) and fresh iterators for the second model
    gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    train = TextNMT(STEPS, path, get_prev_target=True, split="train")
    valid = TextNMT(STEPS, path, split="valid")
    short = seq2seq(train, 1, "S")
    ref["short_cost"] = fit(short, ShortDecoder(train, True))
    ref["short_outputs"] = short.get_outputs(ShortDecoder(valid, False))
    ref["short_beam"] = short.get_outputs_beam(ShortDecoder(valid, False), num_beams=2)
    np.savez_compressed(os.path.join(folder, "nmt.npz"), **ref)

    words, n = valid.t_index_to_token, valid.nbatches
    shape = (n, BSZ, STEPS)
    greedy = ref["outputs"].argmax(2).reshape(shape).transpose(1, 0, 2)[:, :, ::-1]
    beam = ref["beam"].reshape(shape).transpose(1, 0, 2)[:, :, ::-1]
    references = [[r] for r in bleu_format(valid.y, words, n)]
    bleu = BLEUScore()
    results = {"translations": []}
    for name, pred in (("greedy", greedy), ("beam", beam)):
        generated = bleu_format(pred, words, n)
        score = bleu(generated, references, N=4, brevity_penalty=False, lower_case=True)
        results["translations"].append(
            {
                "name": name,
                "generated": generated,
                "references": references,
                "score": float(score),
                "bleu_n": [float(v) for v in bleu.bleu_n],
            }
        )
    results["cases"] = []
    for y, t, kwargs in BLEU_CASES:
        score = bleu(y, t, **kwargs)
        results["cases"].append(
            {
                "y": y,
                "t": t,
                "kwargs": kwargs,
                "score": float(score),
                "bleu_n": [float(v) for v in bleu.bleu_n],
            }
        )
    with open(os.path.join(folder, "nmt_bleu.json"), "w") as f:
        json.dump(results, f, indent=1, allow_nan=True)


if __name__ == "__main__":
    main(sys.argv[1])
