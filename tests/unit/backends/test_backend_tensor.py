"""neon's backend tensor API: allocation, Tensor get/set/slicing, op-trees and reductions,
checked against numpy; parameter views (``layer.W``) write through to the torch parameters.

Inputs follow neon's backends guide (be.zeros / be.array / be.iobuf, ``t[:] = optree``,
``be.sum(x, axis=0)`` keeping its axis) and its "inspecting the model" example
(``model.layers.layers[0].W.get()``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch.backends import Tensor, gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.errors import ShapeMismatchError
from neon_torch.initializers import Gaussian, Uniform
from neon_torch.layers import Affine, BatchNorm, Conv, GeneralizedCost
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax


@pytest.fixture()
def be():
    return gen_backend("cpu", rng_seed=0, batch_size=4)


def _x(shape=(3, 4), seed=0) -> np.ndarray:
    return np.random.RandomState(seed).uniform(-2, 2, shape).astype(np.float32)


def test_allocation_shapes_and_dtypes(be) -> None:
    assert be.zeros((5,)).shape == (5, 1)  # neon keeps two dimensions
    assert be.ones((2, 3)).get().sum() == 6
    assert be.empty((2, 3), dtype=np.int32).dtype == np.int32
    assert be.iobuf(7).shape == (7, 4)
    assert be.iobuf((3, 5)).shape == (3, 20)  # a sequence: (F, T·bsz)
    assert be.iobuf((2, 3, 3)).shape == (18, 4)
    a = _x()
    t = be.array(a)
    assert t.shape == a.shape and t.dtype == np.float32 and np.array_equal(t.get(), a)
    assert be.zeros_like(t).shape == t.shape and be.empty_like(t, dtype=np.float64).dtype == (
        np.float64
    )
    assert isinstance(t.torch, torch.Tensor) and t.torch.device == be.device


def test_get_set_fill_and_indexing_follow_neon(be) -> None:
    t = be.zeros((3, 4))
    t.set(np.arange(12))  # same number of elements: reshaped
    assert np.array_equal(t.get(), np.arange(12, dtype=np.float32).reshape(3, 4))
    assert t[1].shape == (1, 4) and t[:, 2].shape == (3, 1)  # int indices keep the axis
    t[1, 0] = -5
    t[:, 3] = be.array(np.array([[7], [8], [9]]))
    t[0:2, 1:3] = 0.5
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected[1, 0], expected[:, 3], expected[0:2, 1:3] = -5, [7, 8, 9], 0.5
    assert np.array_equal(t.get(), expected)
    view = t[2:3]
    view.fill(1)  # a slice is a view
    assert np.array_equal(t.get()[2], np.ones(4))
    assert np.array_equal(t.T.get(), t.get().T) and t.reshape(2, 6).shape == (2, 6)
    assert np.array_equal(t.take([2, 0], axis=1).get(), t.get()[:, [2, 0]])
    with pytest.raises(ShapeMismatchError, match="received 5 values"):
        t.set(np.zeros(5))


def test_optrees_equal_numpy(be) -> None:
    a, b = _x(seed=1), _x(seed=2)
    x, y = be.array(a), be.array(b)
    out = be.empty((3, 4))
    out[:] = be.exp(x) * 2 + y
    np.testing.assert_allclose(out.get(), np.exp(a) * 2 + b, rtol=1e-6)
    cases = {
        "sub_div": (x - y) / (abs(y) + 1),
        "rsub_rdiv_pow": (1 - x) + 1 / (abs(x) + 1) + x**2,
        "sig": be.sig(x),
        "tanh": be.tanh(x),
        "safelog": be.safelog(x),
        "sqrt_square": be.sqrt(be.square(x)),
        "clip": be.clip(x, -1, 0.5),
        "maximum": be.maximum(x, y),
        "minimum": be.minimum(x, 0),
        "greater": be.greater(x, y),
        "equal": x == x,
        "sgn": be.sgn(x),
    }
    expected = {
        "sub_div": (a - b) / (np.abs(b) + 1),
        "rsub_rdiv_pow": (1 - a) + 1 / (np.abs(a) + 1) + a**2,
        "sig": 1 / (1 + np.exp(-a)),
        "tanh": np.tanh(a),
        "safelog": np.log(np.maximum(a, np.exp(-50.0))),
        "sqrt_square": np.abs(a),
        "clip": np.clip(a, -1, 0.5),
        "maximum": np.maximum(a, b),
        "minimum": np.minimum(a, 0),
        "greater": (a > b).astype(np.float32),
        "equal": np.ones_like(a),
        "sgn": np.sign(a),
    }
    for key, value in cases.items():
        np.testing.assert_allclose(value.get(), expected[key], rtol=1e-6, atol=1e-6, err_msg=key)


def test_reductions_keep_their_axis(be) -> None:
    a = _x((5, 4), seed=3)
    x = be.array(a)
    for name, fn in [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min)]:
        op = getattr(be, name)
        assert op(x, axis=0).shape == (1, 4) and op(x, axis=1).shape == (5, 1)
        np.testing.assert_allclose(op(x, axis=0).get(), fn(a, 0, keepdims=True), rtol=1e-6)
        np.testing.assert_allclose(op(x).get(), fn(a).reshape(1, 1), rtol=1e-5)
    np.testing.assert_allclose(be.var(x, axis=1).get(), a.var(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(be.std(x, axis=0).get(), a.std(0, keepdims=True), rtol=1e-5)
    assert np.array_equal(be.argmax(x, axis=0).get(), a.argmax(0)[None, :].astype(np.float32))
    assert np.array_equal(be.argmin(x, axis=1).get(), a.argmin(1)[:, None].astype(np.float32))
    out = be.zeros((1, 4))
    assert be.sum(x, axis=0, out=out) is out
    np.testing.assert_allclose(out.get(), a.sum(0, keepdims=True), rtol=1e-6)


def test_dot_compound_dot_and_onehot(be) -> None:
    a, b, c0 = _x((3, 5), 4), _x((5, 4), 5), _x((3, 4), 6)
    A, B, C = be.array(a), be.array(b), be.array(c0)
    np.testing.assert_allclose(be.dot(A, B).get(), a @ b, rtol=1e-5)
    bsum = be.zeros((3, 1))
    be.compound_dot(A, B, C, alpha=2.0, beta=0.5, relu=True, bsum=bsum)
    want = np.maximum(2 * a @ b + 0.5 * c0, 0)
    np.testing.assert_allclose(C.get(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bsum.get(), want.sum(1, keepdims=True), rtol=1e-5)
    with pytest.raises(ShapeMismatchError, match="compound_dot received"):
        be.compound_dot(A, A, C)
    labels = be.array(np.array([[2, 0, 1, 2]]), dtype=np.int32)
    hot = be.iobuf(3)
    hot[:] = be.onehot(labels, axis=0)
    assert np.array_equal(hot.get(), np.eye(3, dtype=np.float32)[:, [2, 0, 1, 2]])


def test_random_fills_draw_from_neons_stream(be) -> None:
    mask = be.iobuf(6)
    be.make_binary_mask(mask, keepthresh=0.3)
    want = np.random.RandomState(0).uniform(size=(6, 4)) < 0.3
    assert np.array_equal(mask.get(), want.astype(np.float32))
    w = be.empty((4, 3))
    w[:] = be.rng.uniform(-1, 1, w.shape)  # user code drawing from be.rng, as neon's CPU
    state = np.random.RandomState(0)
    state.uniform(size=(6, 4))
    np.testing.assert_array_equal(w.get(), state.uniform(-1, 1, (4, 3)).astype(np.float32))


def test_layer_w_is_neons_weights_and_writes_through(be) -> None:
    X = _x((32, 10), 7)
    y = np.arange(32) % 3
    train = ArrayIterator(X, y, nclass=3)
    model = Model(
        [
            Affine(6, init=Gaussian(scale=0.1), bias=Uniform(), activation=Rectlin()),
            Affine(3, init=Gaussian(scale=0.1), activation=Softmax()),
        ]
    )
    cost = GeneralizedCost(CrossEntropyMulti())
    model.fit(train, cost, GradientDescentMomentum(0.1, 0.9), 1)
    layers = model.layers.layers
    desc = model.get_description(get_weights=True)["model"]["config"]["layers"]
    assert layers[0].W.shape == (6, 10)  # neon's (nout, nin)
    assert np.array_equal(layers[0].W.get(), desc[0]["params"]["W"])
    assert np.array_equal(layers[1].W.get(), desc[1]["params"]["W"])  # Bias: (6, 1)
    assert layers[0].dW.shape == (6, 10) and np.abs(layers[0].dW.get()).sum() > 0
    layers[0].W[:] = 0.25  # writing through the view changes the parameter
    assert torch.all(model.module.state_dict()["layers.0.weight"] == 0.25)
    # the last minibatch's activations in neon's layout
    assert layers[-1].outputs.shape == (3, 4)
    np.testing.assert_allclose(layers[-1].outputs.get().sum(0), np.ones(4), rtol=1e-5)
    assert np.array_equal(layers[0].inputs.get(), X[-4:].T)


def test_conv_and_batchnorm_views_use_neon_layouts(be) -> None:
    model = Model([Conv((3, 3, 4), init=Gaussian(), bias=Gaussian()), BatchNorm()])
    model.initialize((2, 5, 5))
    conv, bn = model.layers.layers
    assert conv.W.shape == (18, 4) and conv.weight_bias.shape == (4, 1)
    assert np.array_equal(conv.W.get(), conv.neon_params()["W"])
    conv.W[0, 1] = 3.0
    assert conv.neon_params()["W"][0, 1] == 3.0
    assert bn.gamma.shape == (4, 1) and bn.beta.shape == (4, 1)  # per channel
    bn.gmean.fill(0.5)
    assert torch.all(bn.running_mean == 0.5)


def test_fprop_of_backend_tensors_returns_neon_layout(be) -> None:
    model = Model([Affine(3, init=Gaussian())])
    model.initialize(5)
    a = _x((5, 4), 8)
    y = model.fprop(be.array(a), inference=True)
    assert isinstance(y, Tensor) and y.shape == (3, 4)
    np.testing.assert_allclose(y.get(), model.layers.layers[0].W.get() @ a, rtol=1e-5)


def test_builtin_layer_fprop_bprop_on_backend_tensors(be) -> None:
    from neon_torch.layers import Linear

    layer = Linear(3, init=Gaussian())
    layer.configure(5)
    layer.allocate()
    a, e = _x((5, 4), 9), _x((3, 4), 10)
    y = layer.fprop(be.array(a))
    w = layer.W.get()
    np.testing.assert_allclose(y.get(), w @ a, rtol=1e-5, atol=1e-6)
    deltas = layer.bprop(be.array(e))  # neon's layer API: error in, input error out
    np.testing.assert_allclose(deltas.get(), w.T @ e, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.dW.get(), e @ a.T, rtol=1e-5, atol=1e-6)
    from neon_torch.errors import NotConfiguredError

    with pytest.raises(NotConfiguredError, match="bprop needs a preceding fprop"):
        layer.bprop(be.array(e))


def test_recurrent_w_reads_like_neon(be) -> None:
    from neon_torch.layers import LSTM, RecurrentLast
    from neon_torch.transforms import Logistic, Tanh

    model = Model([LSTM(3, Gaussian(), activation=Tanh(), gate_activation=Logistic()),
                   RecurrentLast()])  # fmt: skip
    model.initialize((2, 5))
    lstm = model.layers.layers[0]
    desc = model.get_description(get_weights=True)["model"]["config"]["layers"][0]
    assert np.array_equal(lstm.W.get(), desc["params"]["W"])  # packed (2 + 3 + 1, 4·3)
    assert lstm.W.get().shape == (6, 12)
    # W_input / W_recur / b are neon's reshaped views of the packed rows
    np.testing.assert_array_equal(lstm.W_input.get(), desc["params"]["W"][:2].reshape(12, 2))
    np.testing.assert_array_equal(lstm.W_recur.get(), desc["params"]["W"][2:5].reshape(12, 3))
    lstm.b[:] = 0.5
    assert np.all(lstm.W.get()[-1] == 0.5)
