"""Ticker tasks: shapes, masks and neon's quirks; WatchTickerCallback."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks, WatchTickerCallback
from neon_torch.data import ArrayIterator, CopyTask, PrioritySortTask, RepeatCopyTask, Ticker
from neon_torch.errors import ShapeMismatchError
from neon_torch.initializers import Uniform
from neon_torch.layers import GRU, Affine
from neon_torch.models import Model
from neon_torch.transforms import Logistic, Tanh


@pytest.fixture(autouse=True)
def _backend():
    gen_backend("cpu", rng_seed=0, batch_size=3)
    np.random.seed(1)


def test_ticker_attributes_follow_neon():
    ticker = Ticker(CopyTask(5, 8))
    assert (ticker.nbatches, ticker.ndata) == (100, 300)
    assert (ticker.nin, ticker.nout, ticker.shape) == (10, 8, (10, 12))
    assert sum(1 for _ in ticker) == 100


def test_copy_task_mask_covers_the_drawn_length():
    task = CopyTask(4, 2)
    ticker = Ticker(task)
    ticker.nbatches = 5
    for x, (t, mask) in ticker:
        steps = int(x[0, :, -1].nonzero()[0, 0]) - 1  # stop bit at step seq_len + 1
        assert mask[:, : 2 * steps + 2].eq(1).all() and mask[:, 2 * steps + 2 :].eq(0).all()
        assert x[:, 0, -2].eq(1).all()  # start bit on step 0 of every sample
        # the targets after the stop bit are the pattern given after the start bit
        assert t[:, steps + 2 : 2 * steps + 2].equal(x[:, 1 : steps + 1, :2])


def test_repeat_copy_task_uses_seq_len_max_as_repeat_bound():
    task = RepeatCopyTask(3, 1, 4)
    assert task.repeat_count_max == 3  # neon ignores repeat_count_max
    assert (task.nin, task.nout, task.time_steps_max) == (6, 5, 15)


def test_priority_sort_targets_are_sorted_by_priority():
    task = PrioritySortTask(4, 3)
    ticker = Ticker(task)
    ticker.nbatches = 2
    for x, (t, _mask) in ticker:
        steps = int(x[0, :, -2].nonzero()[0, 0]) - 1
        for n in range(3):
            given = x[n, 1 : steps + 1].numpy()
            order = np.argsort(given[:, -1], kind="stable")
            np.testing.assert_array_equal(t[n, steps + 2 : 2 * steps + 2].numpy(), given[order, :3])


def test_watch_ticker_callback_refuses_other_iterators():
    model = Model([Affine(2, Uniform())])
    data = ArrayIterator(np.zeros((6, 2)), np.zeros(6, dtype=int), nclass=2)
    with pytest.raises(ShapeMismatchError, match="Ticker"):
        WatchTickerCallback(model, data)


def test_watch_ticker_callback_shows_one_sample(caplog):
    ticker = Ticker(CopyTask(2, 3))
    model = Model(
        [
            GRU(4, Uniform(), activation=Tanh(), gate_activation=Logistic()),
            Affine(3, Uniform(), activation=Logistic()),
        ]
    )
    callbacks = Callbacks(model)
    callbacks.add_watch_ticker_callback(ticker)
    watch = callbacks.callbacks[-1]
    assert isinstance(watch, WatchTickerCallback)
    model.initialize(ticker)
    with caplog.at_level(logging.DEBUG, logger="neon"):
        watch.on_epoch_end({}, model, 0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0::2] == ["Inputs", "Outputs", "Targets"]
    assert lines[1].count("\n") == 4  # nin = 5 rows
