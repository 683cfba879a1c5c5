"""The full callback set: HDF5 output in neon's layout, checkpoints, early stopping, best
state, multicost, the progress bar, model_file and SIGINT."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import h5py
import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import (
    Callback,
    Callbacks,
    EarlyStopCallback,
    LossCallback,
    MetricCallback,
    ProgressBarCallback,
    RunTimerCallback,
    SerializeModelCallback,
    TrainCostCallback,
    TrainLoggerCallback,
    TrainMulticostCallback,
)
from neon_torch.data import ArrayIterator
from neon_torch.errors import LayerConfigError
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, BranchNode, GeneralizedCost, Multicost, SingleOutputTree
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Misclassification, Rectlin, Softmax

from ...helpers.legacy import blobs, iterators, small_model


def _fit(model: Model, callbacks: Callbacks, epochs: int = 3, train=None) -> None:
    train = train if train is not None else iterators()[0]
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(train, cost, GradientDescentMomentum(0.1, 0.9), epochs, callbacks)


def test_default_order_with_every_option(tmp_path: Path) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    model = small_model()
    _, valid = iterators()
    cbs = Callbacks(
        model,
        eval_set=valid,
        eval_freq=1,
        metric=Misclassification(),
        save_path=str(tmp_path / "m.prm"),
        serialize=2,
    )
    assert [type(c) for c in cbs.callbacks] == [
        LossCallback,
        TrainCostCallback,
        ProgressBarCallback,
        MetricCallback,
        SerializeModelCallback,
        TrainLoggerCallback,
        RunTimerCallback,
    ]
    assert cbs.callbacks[4].epoch_freq == 2
    multi = Callbacks(model, multicost=True, progress_bar=False)
    assert isinstance(multi.callbacks[0], TrainMulticostCallback)


def test_output_file_in_neons_layout(tmp_path: Path) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    out = tmp_path / "cb.h5"
    out.write_bytes(b"stale")  # neon removes an existing file first
    model = small_model()
    _, valid = iterators()
    cbs = Callbacks(
        model,
        eval_set=valid,
        eval_freq=2,
        metric=Misclassification(),
        output_file=str(out),
        progress_bar=False,
    )
    _fit(model, cbs, epochs=4)
    with h5py.File(out) as f:
        assert dict(f["config"].attrs) == {"total_minibatches": 12, "total_epochs": 4}
        markers = f["time_markers/minibatch"]
        assert list(markers[:]) == [3, 6, 9, 12] and f["time_markers"].attrs["epochs_complete"] == 4
        train = f["cost/train"][:]
        assert train.shape == (12,) and f["cost/train"].attrs["time_markers"] == "minibatch"
        loss = f["cost/loss"]
        assert loss.shape == (2,) and loss.attrs["epoch_freq"] == 2
        assert loss.attrs["time_markers"] == "epoch_freq"
        assert f["metrics/Top1Misclass"].shape == (2,) and f["time/loss"].shape == (2,)
        start, end = f["time/train/start_time"][0], f["time/train/end_time"][0]
        assert f["time/train/start_time"].dtype == np.float64 and end >= start
        assert f["time/train/end_time"].attrs["units"] == "seconds"
        np.testing.assert_allclose(loss[:], cbs.callback_data["cost/loss"], rtol=1e-6)
    # cost/train is neon's moving average of the last 10 minibatch costs (across epochs)
    raw = np.array(cbs.callbacks[1]._costs_host(), dtype=np.float64)
    expected = [raw[max(0, i - 9) : i + 1].mean() for i in range(len(raw))]
    np.testing.assert_allclose(train, expected, rtol=1e-5)


def test_serialize_history_keeps_neons_files(tmp_path: Path) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    model = small_model()
    save = tmp_path / "ck.prm"
    cbs = Callbacks(model, save_path=str(save), serialize=1, history=2, progress_bar=False)
    _fit(model, cbs, epochs=5)
    names = sorted(p.name for p in tmp_path.iterdir())
    # neon removes the oldest only once more than `history` exist: history + 1 files remain
    assert names == ["ck.prm", "ck_2.prm", "ck_3.prm", "ck_4.prm"]
    assert os.path.islink(save) and os.readlink(save) == "ck_4.prm"
    restored = Model(str(save))
    assert restored.epoch_index == 5
    single = tmp_path / "one.prm"
    model2 = small_model()
    _fit(model2, Callbacks(model2, save_path=str(single), serialize=2, progress_bar=False), 3)
    assert Model(str(single)).epoch_index == 2  # written after epoch index 1 only


def test_early_stop_and_save_best(tmp_path: Path) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    model = small_model()
    _, valid = iterators()
    cbs = Callbacks(model, eval_set=valid, eval_freq=1, progress_bar=False)
    seen: list[float] = []

    def stop_after_two(state, value):
        seen.append(value)
        return (len(seen), len(seen) >= 2)

    cbs.add_early_stop_callback(stop_after_two)
    best = tmp_path / "best.prm"
    cbs.add_save_best_state_callback(str(best))
    _fit(model, cbs, epochs=10)
    assert model.epoch_index == 2 and model.finished
    assert seen == list(cbs.callback_data["cost/loss"])
    assert best.exists() and cbs.callbacks[-1].best_cost == min(seen)
    assert isinstance(cbs.callbacks[-2], EarlyStopCallback)


def test_model_file_is_loaded_when_training_begins(tmp_path: Path) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    first = small_model()
    _fit(first, Callbacks(first, progress_bar=False), epochs=2)
    path = tmp_path / "start.prm"
    first.save_params(str(path))
    gen_backend(batch_size=32, rng_seed=5)
    second = small_model()
    _fit(second, Callbacks(second, model_file=str(path), progress_bar=False), epochs=3)
    assert second.epoch_index == 3  # resumed at epoch 2: one more epoch


def test_multicost_records_each_cost(capsys: pytest.CaptureFixture[str]) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    X, y = blobs()
    train = ArrayIterator(X, y, nclass=2)
    b = BranchNode(name="b")
    init = Gaussian(scale=0.3)
    trunk = [Affine(8, init=init, activation=Rectlin()), b, Affine(2, init, activation=Softmax())]
    side = [b, Affine(2, init=init, activation=Softmax())]
    model = Model(SingleOutputTree([trunk, side]))
    cost = Multicost([GeneralizedCost(CrossEntropyMulti()), GeneralizedCost(CrossEntropyMulti())])
    cbs = Callbacks(model, multicost=True)
    seen: list[list[float]] = []

    class Record(Callback):
        def on_minibatch_end(self, callback_data, model, epoch, minibatch):
            seen.append([float(c._cost) for c in model.cost.costs])

    cbs.add_callback(Record())
    model.fit(train, cost, GradientDescentMomentum(0.1, 0.9), 2, cbs)
    assert re.search(r"3/3    batches, \(\d+\.\d\d, \d+\.\d\d\) costs", capsys.readouterr().out)
    values = cbs.callback_data["multicost/train"]
    assert values.shape == (6, 2) and values.dtype == np.float64
    assert not np.allclose(values[:, 0], values[:, 1])
    raw = np.array(seen)
    expected = [raw[max(0, i - 9) : i + 1].mean(axis=0) for i in range(len(raw))]
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    plain = small_model()
    with pytest.raises(LayerConfigError, match="Multicost"):
        _fit(plain, Callbacks(plain, multicost=True, progress_bar=False), epochs=1)


def test_progress_bar_format(capsys: pytest.CaptureFixture[str]) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    model = small_model()
    _, valid = iterators()
    _fit(model, Callbacks(model, eval_set=valid, eval_freq=1), epochs=1)
    out = capsys.readouterr().out
    assert "Epoch 0   [Train |████████████████████|    3/3    batches, " in out
    assert " cost, " in out and "[CrossEntropyMulti Loss " in out and out.endswith("\n")


def test_sigint_saves_to_save_path(tmp_path: Path) -> None:
    gen_backend(batch_size=32, rng_seed=0)
    model = small_model()
    save = tmp_path / "interrupted.prm"

    class Interrupt(TrainCostCallback):
        def on_minibatch_end(self, callback_data, model, epoch, minibatch):
            super().on_minibatch_end(callback_data, model, epoch, minibatch)
            if epoch == 1 and minibatch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the run is in the background
    cbs = Callbacks(model, save_path=str(save), serialize=100, progress_bar=False)
    cbs.callbacks[0] = Interrupt()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, cbs, epochs=3)
    assert save.exists()
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_progress_bar_reads_the_cost_only_when_it_redraws(capsys) -> None:
    gen_backend(batch_size=8, rng_seed=0)
    model = small_model()
    cbs = Callbacks(model)
    bar = next(c for c in cbs.callbacks if isinstance(c, ProgressBarCallback))
    bar.update_thresh_s = 3600.0
    reads: list[int] = []
    original = bar._read_cost

    def counting(callback_data, model, exact):
        reads.append(exact)
        return original(callback_data, model, exact)

    bar._read_cost = counting
    _fit(model, cbs, epochs=2)  # 12 minibatches per epoch
    assert reads == [True, True]  # only the last minibatch of each epoch
    assert "Epoch 1   [Train |████████████████████|   12/12   batches" in capsys.readouterr().out


@pytest.mark.cuda
def test_progress_bar_on_cuda(capsys) -> None:
    gen_backend("gpu", batch_size=8, rng_seed=0)
    model = small_model()
    cbs = Callbacks(model)
    next(c for c in cbs.callbacks if isinstance(c, ProgressBarCallback)).update_thresh_s = 0.0
    _fit(model, cbs, epochs=1)
    assert "12/12   batches" in capsys.readouterr().out


def test_progress_bar_with_a_plain_iterable(capsys) -> None:
    import torch

    gen_backend(batch_size=8, rng_seed=0)
    X, y = blobs(32)
    batches = [(torch.from_numpy(X[i : i + 8]), torch.from_numpy(y[i : i + 8])) for i in (0, 8)]

    class NoLength:  # re-iterable, without __len__: nbatches is unknown
        def __iter__(self):
            return iter(batches)

    model = small_model()
    model.fit(
        NoLength(),
        GeneralizedCost(costfunc=CrossEntropyMulti()),
        GradientDescentMomentum(0.1, 0.9),
        1,
        Callbacks(model),
    )
    assert "Epoch 0   [Train |    2 batches, " in capsys.readouterr().out


def test_batchnorm_tune_averages_the_tuning_statistics() -> None:
    import torch

    from neon_torch.callbacks import BatchNormTuneCallback
    from neon_torch.layers import BatchNorm

    gen_backend(batch_size=16, rng_seed=0)
    X, y = blobs(64)
    train = ArrayIterator(X, y, nclass=2)
    tune = ArrayIterator(X[:48] * 2.0, y[:48], nclass=2)
    init = Gaussian(scale=0.3)
    model = Model(
        [
            Affine(4, init=init, batch_norm=True, activation=Rectlin()),
            Affine(2, init=init, activation=Softmax()),
        ]
    )
    cbs = Callbacks(model, progress_bar=False)
    cbs.add_callback(BatchNormTuneCallback(tune))
    _fit(model, cbs, epochs=1, train=train)
    bn = next(layer for layer in model.layers_to_optimize if isinstance(layer, BatchNorm))
    linear = model.layers.layers[0]
    with torch.no_grad():
        h = [linear(x) for x, _ in tune]
    means = torch.stack([v.mean(0) for v in h])
    variances = torch.stack([v.var(0, unbiased=False) for v in h])
    torch.testing.assert_close(bn.running_mean, means.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var, variances.mean(0) * 3 / 2, rtol=1e-5, atol=1e-6)
    assert bn.rho == pytest.approx(2 / 3)
