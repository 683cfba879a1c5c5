"""ArrayIterator: neon's order, one-hot targets, wrap-around and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator, LabelError
from neon_torch.errors import NeonTorchError, ShapeMismatchError


def _ids(batch: torch.Tensor) -> list[int]:
    return batch[:, 0].long().tolist()


def test_wraparound_batches_and_start_offset_follow_neon() -> None:
    gen_backend("cpu", batch_size=32)
    X = np.arange(100, dtype=np.float32).reshape(100, 1)
    it = ArrayIterator(X)
    assert it.nbatches == 4
    epoch0 = [_ids(x) for x, _ in it]
    assert epoch0[0] == list(range(32))
    assert epoch0[3] == list(range(96, 100)) + list(range(28))
    assert it.start == 28 and it.nbatches == 3  # ceil(72 / 32)
    epoch1 = [_ids(x) for x, _ in it]
    assert epoch1[0] == list(range(28, 60))
    assert epoch1[2] == list(range(92, 100)) + list(range(24))
    assert it.start == 24
    it.reset()
    assert it.start == 0 and it.nbatches == 4


def test_start_is_kept_when_the_last_batch_is_full() -> None:
    gen_backend("cpu", batch_size=36)
    it = ArrayIterator(np.arange(100, dtype=np.float32).reshape(100, 1))
    it.start = 28
    assert [_ids(x)[0] for x, _ in it] == [28, 64]
    assert it.start == 28


def test_one_hot_targets_lshape_and_autoencoder_targets() -> None:
    gen_backend("cpu", batch_size=2)
    X = np.arange(24, dtype=np.float32).reshape(2, 12)
    it = ArrayIterator(X, np.array([2, 0]), nclass=3, lshape=(3, 2, 2))
    assert it.shape == (3, 2, 2)
    x, t = next(iter(it))
    assert x.shape == (2, 3, 2, 2) and x.dtype == torch.float32
    assert torch.equal(x.reshape(2, -1), torch.from_numpy(X))  # (c, h, w) flatten order
    assert t.tolist() == [[0, 0, 1], [1, 0, 0]]
    auto = ArrayIterator(X)
    x, t = next(iter(auto))
    assert t is x


def test_regression_targets_keep_their_values() -> None:
    gen_backend("cpu", batch_size=2)
    y = np.array([[0.5, 1.5], [2.5, 3.5]], dtype=np.float32)
    _, t = next(iter(ArrayIterator(np.zeros((2, 3)), y, make_onehot=False)))
    assert t.tolist() == y.tolist()


def test_multi_stream_input_yields_a_list() -> None:
    gen_backend("cpu", batch_size=2)
    it = ArrayIterator([np.zeros((4, 3)), np.ones((4, 5))], np.array([0, 1, 0, 1]), nclass=2)
    assert it.shape == [3, 5]
    x, _ = next(iter(it))
    assert [tuple(v.shape) for v in x] == [(2, 3), (2, 5)]


@pytest.mark.parametrize("labels", [[0, 1, 3], [0, -1, 1], [0, 1.5, 1]])
def test_labels_out_of_range_raise_with_the_bad_value(labels: list) -> None:
    gen_backend("cpu", batch_size=1)
    with pytest.raises(LabelError, match=r"at index [12] is not an integer in \[0, 2\]"):
        ArrayIterator(np.zeros((3, 2)), np.array(labels), nclass=3)


def test_length_mismatch_and_shape_errors_are_typed() -> None:
    gen_backend("cpu", batch_size=1)
    with pytest.raises(ShapeMismatchError, match="X has 3 samples but y has 2"):
        ArrayIterator(np.zeros((3, 2)), np.array([0, 1]), nclass=2)
    with pytest.raises(ShapeMismatchError, match="lshape"):
        ArrayIterator(np.zeros((3, 4)), lshape=(1, 3, 3))
    with pytest.raises(NeonTorchError):
        ArrayIterator(np.zeros((3, 2)), np.array([0, 1, 1]))  # no nclass
    assert issubclass(LabelError, ValueError) and issubclass(ShapeMismatchError, ValueError)


def test_data_is_staged_on_the_backend_device_once() -> None:
    gen_backend("cpu", batch_size=2)
    it = ArrayIterator(np.zeros((4, 3)), np.array([0, 1, 0, 1]), nclass=2)
    first = [x.data_ptr() for x, _ in it]
    it.reset()
    again = [x.data_ptr() for x, _ in it]
    assert first == again  # views into the same staged tensor, no per-epoch copies


def test_sequence_lshape_is_batch_first_and_a_new_source_resets_recurrent_state() -> None:
    from neon_torch.initializers import Gaussian
    from neon_torch.layers import LSTM, Affine, RecurrentLast
    from neon_torch.models import Model
    from neon_torch.transforms import Logistic, Softmax, Tanh

    gen_backend("cpu", rng_seed=0, batch_size=4)
    X = np.random.RandomState(0).rand(8, 3 * 5).astype(np.float32)
    train = ArrayIterator(X, np.arange(8) % 2, nclass=2, lshape=(3, 5))
    other = ArrayIterator(X, np.arange(8) % 2, nclass=2, lshape=(3, 5))
    x, _ = next(iter(train))
    assert x.shape == (4, 5, 3)  # (N, T, F): row n read as F=3 features x T=5 steps
    assert torch.equal(x[1, 2], torch.tensor(X[1].reshape(3, 5)[:, 2]))
    lstm = LSTM(4, Gaussian(), activation=Tanh(), gate_activation=Logistic())
    model = Model([lstm, RecurrentLast(), Affine(2, Gaussian(), activation=Softmax())])
    first = model.get_outputs(train)
    again = model.get_outputs(train)  # neon's default: the state carries on
    assert not np.allclose(first, again)
    np.testing.assert_array_equal(model.get_outputs(other), first)  # new source: zero state
