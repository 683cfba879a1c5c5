"""Record neon 2.6's image-captioning data pipeline and a small captioning run.

Run with the real neon (not neon_torch)::

    env PYTHONPATH=/work/real_neon/src /work/real_neon/venv/bin/python \
        tests/golden/caption/make_caption_fixture.py tests/data/neon_ref/caption \
        [--bleu-script PATH/TO/multi-bleu.perl]

It writes, into the output folder:

* ``flickr8k.zip``: a tiny dataset in neon's format (``flickr8k/features.pkl.gz``, a gzipped
  protocol-2 pickle ``{'sents': {'train': [...], 'test': [...]}, 'feats': (4096, n)}``),
  made here from a fixed seed: 12 training images with 3 captions each, 8 test images with
  2 to 4 captions each; some words are rarer than neon's count threshold of 5 and ``'.'``
  itself is a frequent token (neon then lists it twice in the vocabulary);
* ``caption.npz``: ``<name>/<key>`` arrays: the vocabulary facts of ``Flickr8k``'s iterators;
  for two passes over the training iterator, every minibatch (``x``, ``y``, ``mask`` in neon's
  ``(vocab, T * bsz)`` layout, image columns reduced to two fingerprints); the cost after
  every minibatch of a seeded 8-epoch run of the example's model at hidden size 8 (RMSProp
  with a larger epsilon), the ``cost/train`` neon's callbacks recorded, the trained
  parameters and the model's output on the first test minibatch;
  ``ImageCaption(max_images=10)``'s counts;
* ``caption.json``: the vocabulary, ``ImageCaptionTest.predict``'s captions and references,
  the ``output`` and ``reference<i>`` files ``bleu_score`` wrote and, with ``--bleu-script``
  (Karpathy's neuraltalk ``eval/multi-bleu.perl``), the line that script printed for them.

neon's ``bleu_score`` runs ``perl multi-bleu.perl reference < output`` in the data directory;
without ``--bleu-script`` a stand-in that prints nothing is used, so that nothing is fetched.
"""

import argparse
import gzip
import io
import json
import os
import pickle
import shutil
import subprocess
import tempfile
import zipfile

import numpy as np
from neon.backends import gen_backend
from neon.callbacks.callbacks import Callback, Callbacks
from neon.data import Flickr8k, ImageCaption
from neon.initializers import Array, Constant, Uniform
from neon.layers import LSTM, Affine, Dropout, GeneralizedCostMask, MergeMultistream, Sequential
from neon.models import Model
from neon.optimizers import RMSProp
from neon.optimizers.optimizer import get_param_list
from neon.transforms import CrossEntropyMulti, Logistic, Softmax, Tanh

BSZ, HIDDEN, EPOCHS, DATA_SEED = 4, 8, 8, 1234
# RMSProp's epsilon is raised from the example's 1e-8 so that float32 rounding is not
# amplified into visible differences over the run
OPTIMIZER = dict(decay_rate=0.99, learning_rate=0.02, epsilon=1e-3, gradient_clip_value=1)
N_TRAIN, N_TEST = 12, 8
# the weights of the second image fingerprint (the first is the plain column sum)
FINGERPRINT = (np.arange(4096) % 7 + 1).astype(np.float64)


def make_dataset():
    """The tiny dataset tree (see the module docstring)."""
    rng = np.random.RandomState(DATA_SEED)
    common = ["a", "dog", "man", "runs", "on", "grass", "the", "ball", "."]
    rare = ["red", "bike", "water", "child"]
    images, sentid = [], 0
    for imgid in range(N_TRAIN + N_TEST):
        test = imgid >= N_TRAIN
        sents = []
        for _ in range(rng.randint(2, 5) if test else 3):
            n = rng.randint(2, 9)
            words = [
                rare[rng.randint(len(rare))] if rng.rand() < 0.12 else common[i]
                for i in rng.randint(0, len(common), n)
            ]
            sents.append(
                {"tokens": words, "raw": " ".join(words), "imgid": imgid, "sentid": sentid}
            )
            sentid += 1
        images.append(
            {
                "imgid": imgid,
                "filename": f"{imgid}.jpg",
                "split": "test" if test else "train",
                "sentences": sents,
                "sentids": [s["sentid"] for s in sents],
            }
        )
    feats = rng.rand(4096, N_TRAIN + N_TEST)
    feats = np.where(feats < 0.9, 0.0, np.round(feats * 10 - 9, 1)).astype(np.float32)
    return {"sents": {"train": images[:N_TRAIN], "test": images[N_TRAIN:]}, "feats": feats}


def write_zip(folder):
    """``folder/flickr8k.zip`` holding ``flickr8k/features.pkl.gz``; returns its bytes."""
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(pickle.dumps(make_dataset(), protocol=2))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo("flickr8k/features.pkl.gz", date_time=(2000, 1, 1, 0, 0, 0))
        zf.writestr(info, raw.getvalue())
    with open(os.path.join(folder, "flickr8k.zip"), "wb") as f:
        f.write(buf.getvalue())
    return buf.getvalue()


class CostTrace(Callback):
    """Keep ``model.cost.cost`` after every minibatch, and the callbacks' ``cost/train``."""

    def __init__(self):
        super().__init__()
        self.costs = []
        self.recorded = None

    def on_minibatch_end(self, callback_data, model, epoch, minibatch):
        self.costs.append(float(np.asarray(model.cost.cost).ravel()[0]))

    def on_train_end(self, callback_data, model):
        self.recorded = np.array(callback_data["cost/train"][:])


def build_model(train):
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


def main(folder, bleu_script):
    os.makedirs(folder, exist_ok=True)
    zipped = write_zip(folder)
    work = tempfile.mkdtemp(prefix="caption_fixture_")
    with open(os.path.join(work, "flickr8k.zip"), "wb") as f:
        f.write(zipped)
    be = gen_backend("cpu", rng_seed=0, batch_size=BSZ, datatype=np.float32)
    data = Flickr8k(path=work)
    train, test = data.train_iter, data.test_iter
    out = {
        "vocab/bias_init": train.bias_init,
        "vocab/facts": np.array([train.vocab_size, train.max_sentence_length]),
        "train/counts": np.array([train.nbatches, train.ndata, len(train.X)]),
        "test/counts": np.array([test.nbatches, test.ndata, len(test.images)]),
    }
    for p in range(2):
        for k, ((img, x), (y, mask)) in enumerate(train):
            img = img.get().astype(np.float64)
            out[f"pass{p}/{k}/img"] = np.stack([img.sum(axis=0), FINGERPRINT @ img])
            out[f"pass{p}/{k}/x"] = x.get()
            out[f"pass{p}/{k}/y"] = y.get()
            out[f"pass{p}/{k}/mask"] = mask.get()
    small = ImageCaption(path=os.path.join(work, "flickr8k"), max_images=10)
    out["small/counts"] = np.array([small.nbatches, small.ndata, len(small.X)])

    model = build_model(train)
    callbacks = Callbacks(model)
    trace = CostTrace()
    callbacks.add_callback(trace)
    opt = RMSProp(**OPTIMIZER)
    cost = GeneralizedCostMask(costfunc=CrossEntropyMulti(usebits=True))
    model.fit(train, optimizer=opt, num_epochs=EPOCHS, cost=cost, callbacks=callbacks)
    out["train/cost"] = np.array(trace.costs)
    out["train/callback_cost"] = trace.recorded
    for i, ((param, _), _) in enumerate(get_param_list(model.layers_to_optimize)):
        value = param.get()
        if value.shape[1] == 4096:  # the image projection: its first columns and fingerprints
            value = np.hstack([value[:, :64], value.astype(np.float64) @ FINGERPRINT[:, None]])
        out[f"param/{i}"] = value
    (img, caption), _ = next(iter(test))
    out["test/output0"] = model.fprop((img, caption), inference=True).get()

    sents, targets = test.predict(model)
    data_dir = os.path.join(work, "flickr8k")
    script = os.path.join(data_dir, "multi-bleu.perl")
    if bleu_script:
        shutil.copy(bleu_script, script)
    else:
        with open(script, "w") as f:
            f.write("while (<STDIN>) {}\n")
    test.bleu_score(sents, targets)
    files = {}
    for name in sorted(os.listdir(data_dir)):
        if name == "output" or name.startswith("reference"):
            with open(os.path.join(data_dir, name)) as f:
                files[name] = f.read()
    bleu = None
    if bleu_script:
        with open(os.path.join(data_dir, "output")) as hyp:
            bleu = subprocess.run(
                ["perl", "multi-bleu.perl", "reference"],
                stdin=hyp,
                cwd=data_dir,
                stdout=subprocess.PIPE,
                check=True,
            ).stdout.decode()
    record = {
        "vocab": [train.index_to_vocab[i] for i in range(train.vocab_size)],
        "predicted": sents,
        "targets": targets,
        "files": files,
        "bleu_line": bleu,
    }
    np.savez_compressed(os.path.join(folder, "caption.npz"), **out)
    with open(os.path.join(folder, "caption.json"), "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
    shutil.rmtree(work)
    del be


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--bleu-script", default=None)
    args = parser.parse_args()
    main(args.folder, args.bleu_script)
