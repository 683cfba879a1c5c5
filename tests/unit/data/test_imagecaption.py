"""neon's image-caption datasets: file errors, the on-disk format, and small hand-checked
semantics (the numbers against real neon are in tests/golden/test_caption.py)."""

from __future__ import annotations

import gzip
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.data import (
    Coco,
    DatasetFileError,
    DatasetFormatError,
    Flickr8k,
    Flickr30k,
    ImageCaption,
    ImageCaptionTest,
)
from neon_torch.data import imagecaption as ic
from neon_torch.errors import ShapeMismatchError


def _image(imgid: int, captions: list[str]) -> dict:
    return {
        "imgid": imgid,
        "sentences": [{"tokens": c.split(), "raw": c, "imgid": imgid} for c in captions],
    }


def _tree(n_train: int = 4, n_test: int = 2) -> dict:
    """Training captions: 'a dog runs' x5 per image set, plus a rare word."""
    train = [_image(i, ["a dog runs", "a dog runs on grass", "a cat"]) for i in range(n_train)]
    test = [_image(n_train + i, ["a dog", "dog runs"]) for i in range(n_test)]
    feats = np.zeros((4096, n_train + n_test), dtype=np.float32)
    feats[np.arange(n_train + n_test), np.arange(n_train + n_test)] = 1.0
    return {"sents": {"train": train, "test": test}, "feats": feats}


def _write(folder: Path, tree: object, protocol: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "features.pkl.gz", "wb") as f:
        pickle.dump(tree, f, protocol=protocol)
    return folder


@pytest.fixture
def backend():
    return gen_backend("cpu", rng_seed=0, batch_size=2)


def test_vocabulary_bias_and_counts(tmp_path, backend):
    it = ImageCaption(str(_write(tmp_path, _tree())))
    # 'a', 'dog', 'runs' appear >= 5 times, 'on' 4 times: out; order of first appearance
    assert [it.index_to_vocab[i] for i in range(it.vocab_size)] == [".", "a", "dog", "runs"]
    assert it.max_sentence_length == 5 + 1
    counts = np.array([12.0, 12, 8, 8])  # '.' counted once per caption
    expected = np.log(counts / counts.sum())
    np.testing.assert_allclose(it.bias_init.ravel(), expected - expected.max())
    assert it.bias_init.shape == (4, 1)
    assert it.shape == [4096, (4, 6)]
    assert (it.nbatches, it.ndata, len(it.X)) == (6, 12, 12)
    assert ImageCaption(str(tmp_path), max_images=4).X.shape[0] == 5  # neon keeps max + 1


_KEPT = {  # each training caption as neon feeds it: '.' + its in-vocabulary words, as ids
    "a dog runs": [0, 1, 2, 3],
    "a dog runs on grass": [0, 1, 2, 3],
    "a cat": [0, 1],
}


def _expected_rows(order: np.ndarray) -> list[list[int]]:
    captions = ["a dog runs", "a dog runs on grass", "a cat"] * 4
    return [_KEPT[captions[i]] for i in order]


def test_minibatches_follow_be_rng_permutations_with_neon_masks(tmp_path, backend):
    it = ImageCaption(str(_write(tmp_path, _tree())))
    rng = np.random.RandomState(0)  # be.rng: seeded 0, nothing drawn before the first pass
    order = np.arange(12)
    for _ in range(2):  # each pass permutes the previous pass's order again
        order = order[rng.permutation(12)]
        rows = _expected_rows(order)
        batches = list(it)
        assert len(batches) == 6
        for k, ((image, x), (y, mask)) in enumerate(batches):
            assert image.shape == (2, 4096)
            assert x.shape == (2, 6, 4) and y.shape == mask.shape == (2, 7, 4)
            for n in range(2):
                ids = rows[2 * k + n]
                want_x = np.zeros(6, dtype=np.int64)
                want_x[: len(ids)] = ids
                np.testing.assert_array_equal(x[n].argmax(-1).numpy(), want_x)
                assert float(x[n].sum()) == 6.0  # padding is one-hot index 0 ('.')
                steps = np.arange(7) <= len(ids) + 1
                np.testing.assert_array_equal(mask[n].numpy(), np.repeat(steps[:, None], 4, 1))
                want_y = np.zeros((7, 4))
                want_y[np.arange(7), np.append(want_x, 0)] = 1
                np.testing.assert_array_equal(y[n].numpy(), want_y * steps[:, None])
                # the image is the feats column at the caption's imgid (one-hot here)
                assert int(image[n].argmax()) == order[2 * k + n] // 3


def test_test_iterator_yields_references(tmp_path, backend):
    test = ImageCaptionTest(str(_write(tmp_path, _tree())))
    assert test.vocab_size == 4  # vocabulary of the training split
    assert (test.nbatches, test.ndata) == (1, 2)
    (_, x), (refs, none) = next(iter(test))
    assert none is None and float(x.abs().sum()) == 0.0 and x.shape == (2, 6, 4)
    assert refs == [["a dog", "dog runs"], ["a dog", "dog runs"]]


def test_missing_features_file_says_where_to_put_it(tmp_path, backend):
    with pytest.raises(DatasetFileError, match=r"Put features\.pkl\.gz .* at .*features"):
        ImageCaption(str(tmp_path))


def test_missing_zip_offline(tmp_path, backend, monkeypatch):
    monkeypatch.setenv("NEON_TORCH_OFFLINE", "1")
    for cls, name in ((Flickr8k, "flickr8k"), (Flickr30k, "flickr30k"), (Coco, "coco")):
        with pytest.raises(DatasetFileError, match=rf"Put {name}\.zip .* at "):
            _ = cls(path=str(tmp_path)).train_iter


def test_zip_and_extracted_folder(tmp_path, backend):
    _write(tmp_path / "src" / "flickr8k", _tree())
    with zipfile.ZipFile(tmp_path / "flickr8k.zip", "w") as zf:
        zf.write(tmp_path / "src" / "flickr8k" / "features.pkl.gz", "flickr8k/features.pkl.gz")
    data = Flickr8k(path=str(tmp_path))
    assert data.train_iter.vocab_size == 4 and data.test_iter.nbatches == 1
    assert (tmp_path / "flickr8k" / "features.pkl.gz").exists()  # extracted as neon does
    (tmp_path / "flickr8k.zip").unlink()
    assert Flickr8k(path=str(tmp_path)).train_iter.vocab_size == 4  # no zip: the folder


_FEATS2 = np.zeros((4096, 2))


@pytest.mark.parametrize(
    ("tree", "match"),
    [
        ([1, 2], "expected a dict"),
        ({"sents": {"train": []}, "feats": np.zeros(3)}, "2-D array"),
        ({"sents": {"train": []}, "feats": np.zeros((100, 2))}, "4096"),
        ({"sents": {"test": []}, "feats": np.zeros((4096, 2))}, "no 'train' list"),
        (
            {"sents": {"train": [{"imgid": 5, "sentences": []}]}, "feats": np.zeros((4096, 2))},
            "< 2",
        ),
        (
            {"sents": {"train": [{"imgid": 0, "sentences": [{}]}]}, "feats": np.zeros((4096, 1))},
            "tokens",
        ),
        ({"sents": {"train": []}, "feats": np.zeros((4096, 1))}, "no captions"),
    ],
)
def test_format_errors(tmp_path, backend, tree, match):
    with pytest.raises(DatasetFormatError, match=match):
        ImageCaption(str(_write(tmp_path, tree)))


class _Hostile:
    def __reduce__(self):
        return (print, ("never",))


def test_not_a_gzip_or_hostile_pickle(tmp_path, backend):
    (tmp_path / "features.pkl.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetFormatError, match="gzipped features pickle"):
        ImageCaption(str(tmp_path))
    _write(tmp_path, {"sents": _Hostile(), "feats": np.zeros((4096, 1))})
    with pytest.raises(DatasetFormatError, match="refused"):
        ImageCaption(str(tmp_path))


def test_fewer_captions_than_a_minibatch(tmp_path):
    gen_backend("cpu", rng_seed=0, batch_size=64)
    with pytest.raises(ShapeMismatchError, match="fewer than one minibatch"):
        ImageCaption(str(_write(tmp_path, _tree())))


def test_many_short_tokens_load(tmp_path):
    """A real Flickr8k pickle holds ~40k tokenised captions: many short strings, denser than
    the restricted unpickler's default allowance for .prm files (protocol 4 here: short
    strings take as few bytes as in Python 2's pickles)."""
    words = ["dog", "runs", "on", "the", "grass", "man", "with", "ball"]
    rng = np.random.RandomState(0)
    images = [
        {
            "imgid": 0,
            "sentences": [
                {"tokens": [(words[j] + " ")[:-1] for j in rng.randint(0, 8, 10)], "imgid": 0}
                for _ in range(5)
            ],
        }
        for _ in range(5000)
    ]
    tree = {"sents": {"train": images, "test": []}, "feats": np.zeros((4096, 1), np.float32)}
    data = ic._read_features(str(_write(tmp_path, tree, protocol=4)))
    assert len(data["sents"]["train"]) == 5000


def test_bleu_score_files_and_missing_script_or_perl(tmp_path, backend, monkeypatch, capsys):
    test = ImageCaptionTest(str(_write(tmp_path, _tree())))
    sents = [". a dog .", ". runs runs"]
    targets = [["a dog", "dog runs"], ["a cat", "the cat"]]
    monkeypatch.setenv("NEON_TORCH_OFFLINE", "1")
    with pytest.raises(DatasetFileError, match=r"Put multi-bleu\.perl .* at "):
        test.bleu_score(sents, targets)
    assert (tmp_path / "output").read_text() == "a dog\nruns runs\n"
    assert (tmp_path / "reference0").read_text() == "a dog\na cat\n"
    assert (tmp_path / "reference1").read_text() == "dog runs\nthe cat\n"
    (tmp_path / "multi-bleu.perl").write_text('print "stand-in";\n')
    monkeypatch.setattr(ic.shutil, "which", lambda name: None)
    with pytest.raises(ic.BleuScriptError, match="no perl on the PATH"):
        test.bleu_score(sents, targets)
