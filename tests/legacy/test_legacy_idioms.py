"""What neon 2.6's own example scripts do outside the paved path: printing neon's array
values, ArrayIterator attributes and argument forms, Benchmark, persist helpers, and what a
new user meets first (batch sizes, torch optimizers, the progress bar in a log file)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.benchmark import Benchmark
from neon_torch.callbacks import Callbacks, ProgressBarCallback
from neon_torch.data import ArrayIterator, NervanaDataIterator
from neon_torch.data.datasets import Dataset
from neon_torch.errors import BackendError, NotConfiguredError
from neon_torch.initializers import Gaussian
from neon_torch.layers import Activation, Affine, Conv, GeneralizedCost, MergeMultistream, Pooling
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Misclassification, Rectlin, Softmax
from neon_torch.util import persist
from neon_torch.util.argparser import NeonArgparser

from ..helpers.legacy import blobs, iterators, small_model


def _trained() -> tuple[Model, ArrayIterator]:
    gen_backend(batch_size=16, rng_seed=0)
    train, valid = iterators()
    model = small_model()
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(train, cost, GradientDescentMomentum(0.1, 0.9), 1, Callbacks(model))
    return model, valid


def test_neon_printing_idioms_work_on_this_numpy(capsys) -> None:
    model, valid = _trained()
    error = model.eval(valid, metric=Misclassification())
    assert error.shape == (1,) and error.dtype == np.float32  # neon's shape and dtype
    expected = float(np.asarray(error).reshape(-1)[0])
    # the idioms of mnist_mlp.py, imdb_lstm.py, video-c3d/inference.py and friends
    assert "Misclassification error = %.1f%%" % (error * 100) == (
        f"Misclassification error = {expected * 100:.1f}%"
    )
    assert f"{100 * error:3.2f}" == f"{100 * expected:3.2f}"
    assert f"Test Accuracy - {100 * error}" == f"Test Accuracy - {np.asarray(100 * error)}"
    assert float(error) == pytest.approx(expected) and round(float(error), 3) >= 0.0
    for value in (model.total_cost, model.cost.cost):
        assert value.shape == (1, 1)
        assert "%.4f" % value == f"{float(np.asarray(value)[0, 0]):.4f}"  # noqa: UP031
    assert repr(error).startswith("array(")  # prints as neon's plain arrays did
    with pytest.raises(TypeError, match="one-element"):
        float(np.concatenate([error, error]).view(type(error)))


def test_array_iterator_public_attributes_as_neon() -> None:
    gen_backend(batch_size=4)
    X, y = blobs(10)
    it = ArrayIterator(X, y, nclass=2)
    assert it.ndata == 10 and it.nclass == 2 and it.shape == 6 and it.start == 0
    assert it.make_onehot and it.lshape is None and it.nbatches == 3
    assert isinstance(it.Xdev, tuple) and len(it.Xdev) == 1
    assert torch.equal(it.Xdev[0], torch.as_tensor(X))  # neon's (ndata, F) layout
    assert it.ydev.shape == (10, 1) and it.ydev.dtype == torch.int32
    assert torch.equal(it.ydev[:, 0].long(), torch.as_tensor(y))
    regression = ArrayIterator(X, X[:, :2], make_onehot=False)
    assert regression.ydev.shape == (10, 2) and ArrayIterator(X).ydev is None


def test_list_x_with_lshape_feeds_every_stream() -> None:
    gen_backend(batch_size=4, rng_seed=0)
    rng = np.random.RandomState(0)
    X = rng.rand(12, 16).astype(np.float32)
    y = rng.randint(3, size=12)
    it = ArrayIterator([X, X * 2], y, nclass=3, lshape=(1, 4, 4))  # mnist_merge.py's form
    assert it.shape == [(1, 4, 4), (1, 4, 4)]
    (x0, x1), t = next(iter(it))
    assert x0.shape == (4, 1, 4, 4) and torch.allclose(x1, 2 * x0) and t.shape == (4, 3)
    single = ArrayIterator([X], y, nclass=3, lshape=(1, 4, 4))  # a list of one: one stream
    assert single.shape == (1, 4, 4) and torch.is_tensor(next(iter(single))[0])
    model = Model(
        [
            MergeMultistream(
                [[Affine(5, Gaussian(scale=0.1))], [Affine(5, Gaussian(scale=0.1))]], "stack"
            ),
            Affine(3, Gaussian(scale=0.1), activation=Softmax()),
        ]
    )
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(it, cost, GradientDescentMomentum(0.1, 0.9), 1, Callbacks(model))
    assert model.get_outputs(it).shape == (12, 3)
    with pytest.raises(ValueError, match=r"lshape \(1, 4, 4\) has 16 features but X\[1\] has 20"):
        ArrayIterator([X, rng.rand(12, 20)], y, nclass=3, lshape=(1, 4, 4))


def test_labels_given_as_a_matrix_are_read_as_neon_reads_them() -> None:
    gen_backend(batch_size=4)
    y = np.arange(24).reshape(8, 3) % 5  # convnet-benchmarks: randint(0, 999, (128, 1000))
    it = ArrayIterator(np.zeros((8, 2)), y, nclass=5)
    targets = torch.cat([t for _, t in it]).argmax(1)
    assert targets.tolist() == y.reshape(-1)[:8].tolist()  # neon: y.reshape(-1, 1)[i]


def test_subclasses_assign_nbatches_as_in_neon() -> None:
    class Fixed(NervanaDataIterator):
        def __init__(self) -> None:
            super().__init__()
            self.ndata, self.nbatches, self.shape = 8, 2, 3

    it = Fixed()
    assert it.nbatches == 2 and it.ndata == 8
    with pytest.raises(NotImplementedError, match=r"assign self\.nbatches"):
        NervanaDataIterator().nbatches  # noqa: B018


def test_eval_reads_image_outputs_as_neon_rows() -> None:
    # cifar10_allcnn.py ends in Pooling + Activation(Softmax): outputs (N, C, 1, 1)
    gen_backend(batch_size=4, rng_seed=0)
    rng = np.random.RandomState(1)
    it = ArrayIterator(rng.rand(8, 2 * 4 * 4), rng.randint(3, size=8), nclass=3, lshape=(2, 4, 4))
    model = Model(
        [
            Conv((3, 3, 3), init=Gaussian(scale=0.1), padding=1),
            Pooling(4, op="avg"),
            Activation(Softmax()),
        ]
    )
    error = model.eval(it, metric=Misclassification())
    outputs = model.get_outputs(it)
    labels = np.concatenate([t.argmax(1).numpy() for _, t in it])
    expected = float(np.mean(outputs.argmax(1) != labels))
    assert float(error) == pytest.approx(expected)


def _bench_model() -> tuple[Model, ArrayIterator]:
    gen_backend(batch_size=4, rng_seed=0)
    X, y = blobs(16)
    train = ArrayIterator(X, y, nclass=2)
    opt = GradientDescentMomentum(0.1, 0.9)
    model = Model(
        [Affine(5, Gaussian(scale=0.1), activation=Rectlin()), Affine(2, Gaussian(scale=0.1))],
        optimizer=opt,
    )
    model.initialize(train, cost=GeneralizedCost(costfunc=CrossEntropyMulti()))
    return model, train


def test_benchmark_times_every_layer_and_trains() -> None:
    model, train = _bench_model()
    before = model.layers.layers[0].weight.detach().clone()
    bench = Benchmark(model)
    stats = bench.time(train, niterations=5)
    assert list(stats)[:4] == ["fprop", "bprop", "iteration", "data_loading"]
    names = [k for k in stats if k.startswith(("fprop ", "bprop "))]
    assert names == [
        "fprop Linear_0", "bprop Linear_0", "fprop Linear_0_Rectlin", "bprop Linear_0_Rectlin",
        "fprop Linear_1", "bprop Linear_1",
    ]  # fmt: skip
    assert all(len(stats[k]) == 5 for k in names)  # one value per call
    assert np.all(stats["iteration"] >= stats["bprop"]) and np.all(stats["bprop"] > 0)
    assert not torch.equal(before, model.layers.layers[0].weight)  # the optimizer ran
    shown = []

    class Out:
        def display(self, text: str) -> None:
            shown.append(text)

    Benchmark.print_stats(stats, output=Out(), nskip=2)
    table = shown[0].splitlines()
    assert (
        table[2].startswith("|") and "Intel Neon Benchmark: 0.0.2 Neon Version: 2.6.0" in table[2]
    )
    assert table[1].startswith("+---") and table[4].startswith("|               Func")
    assert any(line.startswith("| bprop Linear_1 ") for line in table)


def test_benchmark_needs_an_initialized_model_and_an_optimizer() -> None:
    gen_backend(batch_size=4)
    with pytest.raises(NotConfiguredError, match="initialize"):
        Benchmark(small_model())
    model, train = _bench_model()
    model.optimizer = None
    with pytest.raises(NotConfiguredError, match="optimizer"):
        Benchmark(model).time(train, niterations=1)


def test_model_benchmark_prints_neons_table(caplog) -> None:
    model, train = _bench_model()
    with caplog.at_level("INFO", logger="neon"):
        stats = model.benchmark(
            train, cost=model.cost, optimizer=model.optimizer, niterations=3, nskip=1
        )
    assert set(stats) == {"fprop", "bprop", "iteration"}
    lines = [r.getMessage() for r in caplog.records]
    assert (
        lines[1] == "|    Func     |    Mean     |   Median    |     Min     |     Max     |"
        "    Units    |"
    )
    assert lines[3].startswith("| fprop       |  ") and lines[0] == "-" * len(lines[1])


def test_persist_helpers(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "a" / "b" / "file.pkl"
    assert persist.ensure_dirs_exist(str(target)) == str(target) and target.parent.is_dir()
    monkeypatch.delenv("NEON_DATA_CACHE_DIR", raising=False)
    assert persist.get_data_cache_or_nothing("sub") == ""
    assert persist.get_data_cache_dir(str(tmp_path / "d"), "x") == str(tmp_path / "d" / "x")
    monkeypatch.setenv("NEON_DATA_CACHE_DIR", str(tmp_path / "cache"))
    got = persist.get_data_cache_or_nothing("sub")
    assert got == str(tmp_path / "cache" / "sub") and os.path.isdir(tmp_path / "cache")
    assert persist.get_data_cache_dir("ignored", ["p", "q"]) == str(tmp_path / "cache" / "p" / "q")
    monkeypatch.setenv("NEON_CACHE_DIR", str(tmp_path / "kc"))
    assert persist.get_cache_dir("k") == str(tmp_path / "kc" / "k")


def test_valid_path_append_returns_neons_forms(tmp_path: Path) -> None:
    root = str(tmp_path / "new")
    assert Dataset._valid_path_append(root) == root and os.path.isdir(root)
    assert Dataset._valid_path_append(root, "a") == os.path.join(root, "a")
    workdir, filepath = Dataset._valid_path_append(root, "", "f.gz")
    assert (workdir, filepath) == (os.path.join(root, ""), os.path.join(root, "f.gz"))


@pytest.mark.parametrize("bad", ["abc", -4, 2.5, True, None])
def test_gen_backend_refuses_a_bad_batch_size(bad) -> None:
    with pytest.raises(BackendError, match=f"batch_size must be a non-negative integer.*{bad!r}"):
        gen_backend(batch_size=bad)


@pytest.mark.parametrize("bad", ["-4", "0", "abc"])
def test_argparser_refuses_a_bad_batch_size(bad, capsys) -> None:
    with pytest.raises(SystemExit):
        NeonArgparser().parse_args(gen_be=False, args=["-z", bad])
    assert f"expected a batch size >= 1, got {bad!r}" in capsys.readouterr().err


def test_torch_optimizer_before_initialize_says_how(recwarn) -> None:
    gen_backend(rng_seed=0)
    model = small_model()
    with pytest.raises(NotConfiguredError, match=r"model.initialize\(dataset, cost\)"):
        torch.optim.SGD(model.module.parameters(), lr=0.1)
    X, y = blobs(32)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y)), batch_size=8
    )
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.initialize(loader, cost)
    opt = torch.optim.SGD(model.module.parameters(), lr=0.1)  # the way the message gives
    model.fit(loader, cost, opt, 1, Callbacks(model))
    assert not [w for w in recwarn if "bsz" in str(w.message)]  # the documented default


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _bar_output(stream: io.StringIO) -> str:
    gen_backend(batch_size=8, rng_seed=0)
    model = small_model()
    cbs = Callbacks(model)
    bar = next(c for c in cbs.callbacks if isinstance(c, ProgressBarCallback))
    bar.stream, bar.update_thresh_s = stream, 0.0
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(iterators()[0], cost, GradientDescentMomentum(0.1, 0.9), 2, cbs)
    return stream.getvalue()


def test_progress_bar_off_a_terminal_writes_one_line_per_epoch() -> None:
    out = _bar_output(io.StringIO())
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 1   [Train |████████████████████|")


def test_progress_bar_on_a_terminal_redraws() -> None:
    out = _bar_output(_Terminal())
    assert out.count("\r") >= 12 and "   12/12   batches" in out


def test_word2vec_embedding_matrix(tmp_path: Path) -> None:
    from neon_torch.data.text_preprocessing import get_google_word2vec_W

    vectors = {"good": [1.0, 2.0, 3.0], "bad": [-1.0, 0.5, 0.25], "other": [9.0, 9.0, 9.0]}
    blob = b"3 3\n" + b"".join(
        w.encode() + b" " + np.asarray(v, "<f4").tobytes() + b"\n" for w, v in vectors.items()
    )
    path = tmp_path / "w2v.bin"
    path.write_bytes(blob)
    np.random.seed(5)
    W, dim, rows = get_google_word2vec_W(str(path), {"good": 0, "bad": 2, "missing": 1})
    assert (dim, rows, W.shape) == (3, 6, (6, 3))
    np.testing.assert_array_equal(W[3], vectors["good"])  # vocab index + index_from 3
    np.testing.assert_array_equal(W[5], vectors["bad"])
    np.random.seed(5)  # the other rows: uniform(-0.25, 0.25) draws in row order
    expected = [np.random.uniform(-0.25, 0.25, 3) for _ in (0, 1, 2, 4)]
    np.testing.assert_array_equal(W[[0, 1, 2, 4]], np.stack(expected))
    path.write_bytes(blob[:-5])
    with pytest.raises(ValueError, match="ends inside a vector"):
        get_google_word2vec_W(str(path), {"good": 0})


def test_deep_dream_style_gradient_to_the_input() -> None:
    # deep_dream.py: model.fprop(be.array(image (C, H, W))), a cost ignoring its targets,
    # model.bprop(delta).get() -> the gradient of the image
    from neon_torch.transforms import Cost

    class MaximizeActivations(Cost):
        def __init__(self) -> None:
            self.func = lambda y, t: self.be.sum(self.be.square(y), axis=0) / -2.0
            self.funcgrad = lambda y, t: -y

    be = gen_backend(batch_size=1, rng_seed=0)
    model = Model([Conv((3, 3, 4), init=Gaussian(scale=0.1), padding=1)])
    model.initialize((2, 5, 5), cost=GeneralizedCost(costfunc=MaximizeActivations()))
    image = np.random.RandomState(0).rand(2, 5, 5).astype(np.float32)
    out = model.fprop(be.array(image))
    assert out.shape == (4 * 5 * 5, 1)
    delta = model.cost.get_errors(out, None)
    np.testing.assert_allclose(delta.get(), -out.get())
    grad = model.bprop(delta).get().reshape(image.shape)
    x = torch.tensor(image[None], requires_grad=True)
    y = model.module(x)
    (-(y**2).sum() / 2).backward()  # the gradient of the cost MaximizeActivations reports
    np.testing.assert_allclose(grad, x.grad[0].numpy(), rtol=1e-5, atol=1e-6)
