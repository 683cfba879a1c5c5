"""Datasets read from neon's on-disk formats (files written by the tests; no network)."""

from __future__ import annotations

import gzip
import pickle
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.data import (
    CIFAR10,
    IMDB,
    MNIST,
    PTB,
    SICK,
    DatasetFileError,
    DatasetFormatError,
    HDF5Iterator,
    HDF5IteratorAutoencoder,
    HDF5IteratorOneHot,
    HutterPrize,
    Shakespeare,
)
from neon_torch.data.image import zca_transform
from neon_torch.data.text_preprocessing import pad_data, pad_sentences

from ...helpers.legacy import write_cifar, write_mnist


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_TORCH_OFFLINE", "1")


def test_mnist(tmp_path: Path) -> None:
    gen_backend(batch_size=16)
    write_mnist(tmp_path)
    with gzip.open(tmp_path / "mnist.pkl.gz") as f:
        (raw_x, raw_y), _ = pickle.load(f)
    (x, _y), (xt, _yt), nclass = MNIST(path=str(tmp_path)).load_data()
    assert x.shape == (64, 784) and xt.shape == (32, 784) and nclass == 10
    np.testing.assert_allclose(x, raw_x.reshape(64, -1) / 255.0, rtol=1e-6)
    sym = MNIST(path=str(tmp_path), sym_range=True, size=32).load_data()[0][0]
    assert sym.shape == (64, 1024) and sym.min() >= -1 and sym.max() <= 1
    shuffled = MNIST(path=str(tmp_path), shuffle=True).load_data()[0]
    np.testing.assert_array_equal(shuffled[1], raw_y)  # neon shuffles the images only
    train = MNIST(path=str(tmp_path)).train_iter
    assert train.shape == (1, 28, 28) and train.nbatches == 4 and train.nclass == 10


def test_cifar10_from_extracted_batches(tmp_path: Path) -> None:
    gen_backend(batch_size=8)
    write_cifar(tmp_path)
    (x, y), (xt, _yt), nclass = CIFAR10(path=str(tmp_path)).load_data()
    assert x.shape == (40, 3072) and y.shape == (40, 1) and xt.shape == (8, 3072)
    assert 0 <= x.min() and x.max() <= 1 and nclass == 10
    gcn = CIFAR10(path=str(tmp_path), contrast_normalize=True, normalize=False).load_data()
    norms = np.sqrt((gcn[0][0] ** 2).sum(axis=1))
    np.testing.assert_allclose(norms, 55.0, rtol=1e-4)
    assert CIFAR10(path=str(tmp_path)).valid_iter.shape == (3, 32, 32)
    assert CIFAR10(path=str(tmp_path), pad_classes=True).train_iter.nclass == 16
    mean, _ = rng_arrays = (np.linspace(0, 1, 3072), np.eye(3072) * 2.0)
    with open(tmp_path / "cifar-10-zca-cache.pkl", "wb") as f:  # neon's cache, reused
        pickle.dump(rng_arrays, f, protocol=2)
    white = CIFAR10(path=str(tmp_path), whiten=True).load_data()
    expected = (xt.astype(np.float64) - mean) * 2.0  # xt is already divided by 255
    np.testing.assert_allclose(white[1][0], expected, rtol=1e-5, atol=1e-6)


def test_zca_transform_whitens() -> None:
    x = np.random.RandomState(0).randn(400, 6) @ np.random.RandomState(1).randn(6, 6)
    mean, w = zca_transform(x, filter_bias=0.0)
    white = (x - mean) @ w
    np.testing.assert_allclose(np.cov(white.T), np.eye(6), atol=1e-8)
    np.testing.assert_allclose(w, w.T, atol=1e-12)  # ZCA: symmetric, unlike PCA whitening


def test_imdb_matches_neons_preparation(tmp_path: Path) -> None:
    gen_backend(batch_size=4)
    rng = np.random.RandomState(0)
    X = [list(rng.randint(0, 40, size=rng.randint(2, 12))) for _ in range(20)]
    labels = list(rng.randint(2, size=20))
    with open(tmp_path / "imdb.pkl", "wb") as f:
        pickle.dump((X, labels), f, protocol=2)
    (xtr, ytr), (xte, _yte), nclass = pad_data(
        str(tmp_path / "imdb.pkl"), vocab_size=30, sentence_length=8
    )
    assert xtr.shape == (16, 8) and xte.shape == (4, 8) and nclass == 2
    order = np.arange(20)
    np.random.seed(113)
    np.random.shuffle(order)
    first = [1] + [w + 3 for w in X[order[0]]]
    first = [2 if w >= 30 else w for w in first][-8:]
    assert list(xtr[0][-len(first) :]) == first and ytr[0, 0] == labels[order[0]]
    assert (xtr[0][: 8 - len(first)] == 0).all()
    data = IMDB(vocab_size=30, sentence_length=8, path=str(tmp_path)).data_dict
    assert data["nclass"] == 2 and data["train"].shape == 8
    assert pad_sentences([[1, 2, 3], [4]], 2).tolist() == [[2, 3], [0, 4]]


def test_text_corpora(tmp_path: Path) -> None:
    gen_backend(batch_size=2)
    for split in ("train", "valid", "test"):
        (tmp_path / f"ptb.{split}.txt").write_text(" the cat sat \n on the mat \n" * 20)
    ptb = PTB(4, path=str(tmp_path), tokenizer="newline_tokenizer")
    assert "<eos>" in ptb.train_iter.vocab and ptb.test_iter.nclass == ptb.train_iter.nclass
    chars = PTB(5, path=str(tmp_path))
    assert chars.train_iter.shape[1] == 5
    (tmp_path / "shakespeare_input.txt").write_text("to be or not to be " * 30)
    shake = Shakespeare(5, path=str(tmp_path))
    assert shake.train_iter.nbatches > shake.valid_iter.nbatches > 0


def test_hutter_prize_locates_its_archive(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEON_TORCH_OFFLINE", "1")
    with pytest.raises(DatasetFileError, match=r"Put enwik8\.zip"):
        HutterPrize(path=str(tmp_path)).load_data()
    (tmp_path / "enwik8.zip").write_bytes(b"not a zip")
    with pytest.raises(DatasetFormatError, match="zip"):
        HutterPrize(path=str(tmp_path)).load_data()
    with zipfile.ZipFile(tmp_path / "enwik8.zip", "w") as archive:
        archive.writestr("enwik8", "<mediawiki>")
    path = HutterPrize(path=str(tmp_path)).load_data()
    assert path == str(tmp_path / "enwik8")
    assert (tmp_path / "enwik8").read_text() == "<mediawiki>"


def test_hdf5_iterators(tmp_path: Path) -> None:
    gen_backend(batch_size=4)
    path = tmp_path / "d.h5"
    x = np.arange(10 * 12, dtype=np.float32).reshape(10, 12)
    with h5py.File(path, "w") as f:
        f.create_dataset("input", data=x).attrs["lshape"] = (3, 2, 2)
        f.create_dataset("mean", data=np.array([1.0, 2.0, 3.0]))
        f.create_dataset("output", data=np.arange(10).reshape(10, 1) % 3).attrs["nclass"] = 3
    it = HDF5Iterator(str(path))
    assert it.shape == (3, 2, 2) and it.ndata == 10 and it.nbatches == 3
    xb, tb = next(iter(it))
    expected = (x[:4].reshape(4, 3, 4) - np.array([1.0, 2.0, 3.0])[None, :, None]).reshape(
        4, 3, 2, 2
    )
    np.testing.assert_allclose(xb.numpy(), expected)
    assert tb.shape == (4, 1)
    _xo, to = next(iter(HDF5IteratorOneHot(str(path))))
    np.testing.assert_array_equal(to.numpy().argmax(1), [0, 1, 2, 0])
    xa, ta = next(iter(HDF5IteratorAutoencoder(str(path))))
    np.testing.assert_array_equal(xa.numpy(), ta.numpy())


def test_absent_file_says_which_file_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileError, match=r"Put mnist\.pkl\.gz .* at .*mnist\.pkl\.gz"):
        MNIST(path=str(tmp_path)).load_data()


def test_failed_download_without_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_TORCH_OFFLINE", "")
    dataset = MNIST(path=str(tmp_path))
    dataset.url = (tmp_path / "nowhere").as_uri()  # a local URL: no network is touched
    with pytest.raises(DatasetFileError, match="download failed"):
        dataset.load_data()
    assert list(tmp_path.iterdir()) == []


def test_wrong_formats(tmp_path: Path) -> None:
    (tmp_path / "mnist.pkl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetFormatError, match=r"mnist\.pkl\.gz"):
        MNIST(path=str(tmp_path)).load_data()
    with gzip.open(tmp_path / "mnist.pkl.gz", "wb") as f:
        pickle.dump(((np.zeros((2, 5, 5)), [0, 1]), (np.zeros((2, 5, 5)), [0, 1])), f)
    with pytest.raises(DatasetFormatError, match=r"\(n, 28, 28\)"):
        MNIST(path=str(tmp_path)).load_data()
    bad_h5 = tmp_path / "bad.h5"
    with h5py.File(bad_h5, "w") as f:
        f.create_dataset("data", data=np.zeros((2, 2)))
    with pytest.raises(DatasetFormatError, match="no 'input' dataset"):
        HDF5Iterator(str(bad_h5))
    with pytest.raises(DatasetFormatError, match="not an HDF5 file"):
        HDF5Iterator(str(tmp_path / "mnist.pkl.gz"))


def test_sick_reads_the_three_files(tmp_path: Path) -> None:
    header = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment\n"
    for phase, score in (("train", "4.5"), ("trial", "3.0"), ("test_annotated", "1.2")):
        with zipfile.ZipFile(tmp_path / f"sick_{phase}.zip", "w") as archive:
            body = f"1\ta man runs\ta person runs\t{score}\tENTAILMENT\n"
            archive.writestr(f"SICK_{phase}.txt", header + body)
    sick = SICK(path=str(tmp_path))
    assert set(sick.load_data()) == {"train", "trial", "test_annotated"}
    (train_a, train_b), (dev_a, _), (test_a, _), scores = sick.load_eval_data()
    assert train_a.tolist() == [b"a man runs"] and train_b.tolist() == [b"a person runs"]
    assert len(dev_a) == len(test_a) == 1
    assert [s.tolist() for s in scores] == [[4.5], [3.0], [1.2]]
