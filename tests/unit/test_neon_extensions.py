"""User code written against neon's extension API (layers, transforms, costs, optimizers,
metrics, iterators on backend tensors) trains under neon_torch with neon's numbers.

The classes below restate, in backend-tensor code, the examples of neon's user guide
(creating_new_layers, costs, optimizers, loading_data); the reference numbers are the real
neon 2.6 run of ``mlp/mlp_bias_softmax`` and neon_torch's built-in layers.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch import NervanaObject
from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator, NervanaDataIterator
from neon_torch.initializers import Constant, Gaussian
from neon_torch.layers import LSTM, Activation, Affine, GeneralizedCost
from neon_torch.layers._base import Layer, ParameterLayer
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum, Optimizer, get_param_list
from neon_torch.transforms import CrossEntropyMulti, Logistic, Rectlin, SumSquared, Tanh
from neon_torch.transforms.activation import Transform
from neon_torch.transforms.cost import Cost
from neon_torch.transforms.metric import Metric

from ..conftest import load_case


# -- neon-style user classes ----------------------------------------------------------------
class DenseLayer(ParameterLayer):
    """A fully connected layer as neon's guide writes one: W (nout, nin), compound_dot."""

    def __init__(self, nout: int, init: Any, name: str | None = None) -> None:
        super().__init__(init, name)
        self.nout = nout

    def configure(self, in_obj: Any) -> DenseLayer:
        super().configure(in_obj)
        self.nin = int(np.prod(self.in_shape))
        self.out_shape = (self.nout,)
        self.weight_shape = (self.nout, self.nin)
        return self

    def fprop(self, inputs: Any, inference: bool = False) -> Any:
        self.inputs = inputs
        self.be.compound_dot(A=self.W, B=self.inputs, C=self.outputs)
        return self.outputs

    def bprop(self, error: Any) -> Any:
        if self.deltas:
            self.be.compound_dot(A=self.W.T, B=error, C=self.deltas)
        self.be.compound_dot(A=error, B=self.inputs.T, C=self.dW)
        return self.deltas


class ColumnBias(ParameterLayer):
    """A per-feature bias added with an op-tree; its gradient is the error summed over the
    batch (neon's update_fc_bias)."""

    def __init__(self, init: Any, name: str | None = None) -> None:
        super().__init__(init, name)
        self.owns_output = False

    def configure(self, in_obj: Any) -> ColumnBias:
        super().configure(in_obj)
        self.weight_shape = (int(np.prod(self.in_shape)), 1)
        return self

    def fprop(self, inputs: Any, inference: bool = False) -> Any:
        self.outputs = inputs
        self.outputs[:] = inputs + self.W
        return self.outputs

    def bprop(self, error: Any) -> Any:
        self.be.sum(error, axis=1, out=self.dW)
        return error


class MultiplyByTwo(Layer):
    """neon's guide's first custom layer."""

    def configure(self, in_obj: Any) -> MultiplyByTwo:
        super().configure(in_obj)
        self.out_shape = self.in_shape
        return self

    def fprop(self, inputs: Any, inference: bool = False) -> Any:
        self.outputs = inputs
        self.outputs[:] = inputs * 2
        return self.outputs

    def bprop(self, error: Any) -> Any:
        error[:] = 2 * error
        return error


class Relu(Transform):
    def __call__(self, x: Any) -> Any:
        return self.be.maximum(x, 0)

    def bprop(self, y: Any) -> Any:
        return self.be.greater(y, 0)


class ColumnSoftmax(Transform):
    """Softmax over the feature axis (axis 0 in neon's layout); neon's shortcut backward."""

    elementwise = False

    def __call__(self, x: Any) -> Any:
        e = self.be.exp(x - self.be.max(x, axis=0))
        return e / self.be.sum(e, axis=0)

    def bprop(self, y: Any) -> Any:
        return 1.0


class MultiClassXent(Cost):
    """Cross-entropy with func/funcgrad lambdas, as neon's costs guide writes it."""

    def __init__(self) -> None:
        self.func = lambda y, t: self.be.sum(-t * self.be.safelog(y), axis=0)
        self.funcgrad = lambda y, t: y - t


class HalfSquared(Cost):
    """A cost written with __call__ / bprop."""

    def __call__(self, y: Any, t: Any) -> Any:
        return self.be.sum(self.be.square(y - t), axis=0) / 2.0

    def bprop(self, y: Any, t: Any) -> Any:
        return y - t


class MomentumSGD(Optimizer):
    """neon's GradientDescentMomentum update, written over get_param_list."""

    def __init__(self, learning_rate: float, momentum_coef: float) -> None:
        super().__init__()
        self.learning_rate = learning_rate
        self.momentum_coef = momentum_coef

    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        for (param, grad), states in get_param_list(layer_list):
            if len(states) == 0:
                states.append(self.be.zeros_like(grad))
            velocity = states[0]
            velocity[:] = self.momentum_coef * velocity - self.learning_rate * grad / self.be.bsz
            param[:] = param + velocity


class ErrorRate(Metric):
    """Misclassification on neon's layout: argmax over the features (axis 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.metric_names = ["ErrorRate"]

    def __call__(self, y: Any, t: Any, calcrange: slice = slice(0, None)) -> float:
        wrong = self.be.not_equal(self.be.argmax(y, axis=0), self.be.argmax(t, axis=0))
        return float(wrong.get()[:, calcrange].mean())


class BufferIterator(NervanaDataIterator):
    """neon's loading_data example: fills device buffers (features, batch) per minibatch."""

    def __init__(self, X: np.ndarray, y: np.ndarray, nclass: int) -> None:
        super().__init__()
        self.ndata = len(X)
        self.shape = X.shape[1]
        self.nbatches = self.ndata // self.be.bsz
        self.X, self.labels, self.nclass = X, y, nclass
        self.dev_X = self.be.iobuf(self.shape)
        self.dev_lbl = self.be.iobuf(1, dtype=np.int32)
        self.dev_y = self.be.iobuf(nclass)

    def __iter__(self) -> Any:
        for i in range(self.nbatches):
            rows = slice(i * self.be.bsz, (i + 1) * self.be.bsz)
            self.dev_X.set(self.X[rows].T.copy())
            self.dev_lbl.set(self.labels[rows].reshape(1, -1))
            self.dev_y[:] = self.be.onehot(self.dev_lbl, axis=0)
            yield self.dev_X, self.dev_y


# -- against the real neon ------------------------------------------------------------------
def _user_model() -> Model:
    """mlp_bias_softmax's network built from the user classes above."""
    return Model(
        [
            DenseLayer(32, init=Gaussian(scale=0.1)),
            ColumnBias(init=Constant(0.1)),
            Activation(Relu()),
            DenseLayer(10, init=Gaussian(scale=0.1)),
            ColumnBias(init=Constant(0.0)),
            Activation(ColumnSoftmax()),
        ]
    )


def test_user_layers_cost_and_optimizer_reproduce_real_neon() -> None:
    gc.collect()
    ref, spec = load_case("mlp", "mlp_bias_softmax")
    be = gen_backend("cpu", rng_seed=spec["rng_seed"], batch_size=spec["batch_size"])
    train = ArrayIterator(ref["X_train"], ref["y_train"], nclass=spec["nclass"])
    model = _user_model()
    cost = GeneralizedCost(costfunc=MultiClassXent())
    model.initialize(train, cost)
    params = [layer for layer in model.layers.layers if isinstance(layer, ParameterLayer)]
    names = ["Linear_0", "Linear_0_bias", "Linear_1", "Linear_1_bias"]
    for layer, name in zip(params, names, strict=True):  # same draws from be.rng as neon
        assert np.array_equal(layer.W.get(), ref[f"param_init/{name}/0"])
    model.fit(train, cost, MomentumSGD(0.1, momentum_coef=0.9), spec["epochs"])
    for layer, name in zip(params, names, strict=True):
        np.testing.assert_allclose(layer.W.get(), ref[f"param_final/{name}/0"], atol=2e-5)
    evalset = ArrayIterator(ref["X_eval"], ref["y_eval"], nclass=spec["nclass"])
    np.testing.assert_allclose(
        model.get_outputs(evalset), ref["outputs_eval"], rtol=1e-4, atol=1e-6
    )
    error = model.eval(evalset, ErrorRate())
    np.testing.assert_allclose(error, ref["eval_metric__Misclassification"], atol=1e-6)
    assert be.bsz == spec["batch_size"]
    # user classes are described as neon describes them: module.ClassName
    desc = model.get_description(get_weights=True, keep_states=True)
    first = desc["model"]["config"]["layers"][0]
    assert first["type"] == f"{__name__}.DenseLayer" and first["config"]["nout"] == 32
    assert np.array_equal(first["params"]["W"], params[0].W.get())
    assert first["states"][0].shape == params[0].W.shape  # the velocity MomentumSGD appended
    assert desc["optimizer"]["type"] == f"{__name__}.MomentumSGD"
    assert desc["cost"]["config"]["costfunc"]["type"] == f"{__name__}.MultiClassXent"


def test_user_classes_equal_the_builtin_ones_step_by_step() -> None:
    rng = np.random.RandomState(3)
    X, y = rng.rand(64, 12).astype(np.float32), rng.randint(0, 5, 64)

    def train(user: bool) -> tuple[list[np.ndarray], float]:
        gc.collect()
        gen_backend("cpu", rng_seed=1, batch_size=16)
        data = BufferIterator(X, y, 5) if user else ArrayIterator(X, y, nclass=5)
        if user:
            layers = [DenseLayer(8, Gaussian(scale=0.3)), ColumnBias(Constant(0.2))]
            layers += [Activation(Relu()), MultiplyByTwo(), DenseLayer(5, Gaussian(scale=0.3))]
        else:
            layers = [Affine(8, Gaussian(scale=0.3), bias=Constant(0.2), activation=Rectlin())]
            layers += [Activation(_Double()), Affine(5, Gaussian(scale=0.3))]
        model = Model(layers)
        cost = GeneralizedCost(HalfSquared() if user else SumSquared())
        opt = MomentumSGD(0.05, 0.5) if user else GradientDescentMomentum(0.05, 0.5)
        model.fit(data, cost, opt, 3)
        weights = [p.detach().clone().numpy() for p in model.module.parameters()]
        return weights, float(model.total_cost.item())

    user_w, user_cost = train(True)
    ref_w, ref_cost = train(False)
    assert len(user_w) == len(ref_w) == 3
    for got, want in zip(user_w, ref_w, strict=True):
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6)
    assert user_cost == pytest.approx(ref_cost, rel=1e-5)


class _Double(Transform):
    """x * 2 through the transform path (the built-in reference for MultiplyByTwo)."""

    def __call__(self, x: Any) -> Any:
        return x * 2

    def bprop(self, y: Any) -> Any:
        return 2.0


def test_model_bprop_returns_the_input_error_in_neon_layout() -> None:
    be = gen_backend("cpu", rng_seed=0, batch_size=4)
    model = Model([MultiplyByTwo(), DenseLayer(3, Gaussian())])
    model.initialize(5)
    x = be.array(np.arange(20, dtype=np.float32).reshape(5, 4) / 10)
    y = model.fprop(x)
    w = model.layers.layers[1].W.get()
    np.testing.assert_allclose(y.get(), w @ (2 * x.get()), rtol=1e-6)
    delta = be.array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    dx = model.bprop(delta)
    assert dx.shape == (5, 4)
    np.testing.assert_allclose(dx.get(), 2 * w.T @ delta.get(), rtol=1e-5, atol=1e-7)
    # dW is neon's error @ inputs.T, summed over the batch, and lands in .grad
    np.testing.assert_allclose(
        model.layers.layers[1].weight.grad.numpy(), delta.get() @ (2 * x.get()).T, rtol=1e-5
    )
    # a second fprop/bprop overwrites dW (neon writes it with beta=0), it does not add to it
    model.fprop(x)
    model.bprop(delta)
    np.testing.assert_allclose(
        model.layers.layers[1].weight.grad.numpy(), delta.get() @ (2 * x.get()).T, rtol=1e-5
    )
    # a first layer without deltas gives no input error, as in neon
    first = Model([DenseLayer(3, Gaussian())])
    first.initialize(5)
    first.fprop(x)
    assert first.bprop(delta) is None


def test_cost_without_func_or_call_is_a_typed_error() -> None:
    from neon_torch.errors import UnsupportedNeonFeature

    class Empty(Cost):
        pass

    with pytest.raises(UnsupportedNeonFeature, match="defines neither __call__"):
        Empty()(torch.zeros(2, 2), torch.zeros(2, 2))


def test_subclassing_a_builtin_without_overrides_stays_builtin() -> None:
    class MyTanh(Tanh):
        pass

    class MyXent(CrossEntropyMulti):
        pass

    assert not MyTanh._neon_style and not MyXent._neon_style
    assert Relu._neon_style and MultiClassXent._neon_style and HalfSquared._neon_style
    assert ErrorRate._neon_style


class _Batches(list):
    shape = (3, 6)


class SequenceBuffers(NervanaObject):
    """The timeseries example's iterator: (features, T·bsz) device buffers, time-major columns."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, steps: int) -> None:
        self.shape = (X.shape[2], steps)
        self.nbatches = X.shape[0] // self.be.bsz
        self.ndata = X.shape[0]
        self.X, self.Y = X, Y
        self.X_dev = self.be.iobuf(self.shape)
        self.y_dev = self.be.iobuf(self.shape)

    def __iter__(self) -> Any:
        bsz = self.be.bsz
        for i in range(self.nbatches):
            rows = slice(i * bsz, (i + 1) * bsz)
            # (bsz, T, F) -> (F, T, bsz) -> (F, T·bsz): column t·bsz + n
            self.X_dev.set(self.X[rows].transpose(2, 1, 0).reshape(self.X_dev.shape))
            self.y_dev.set(self.Y[rows].transpose(2, 1, 0).reshape(self.y_dev.shape))
            yield self.X_dev, self.y_dev


def test_sequence_buffers_train_like_batch_first_tensors() -> None:
    rng = np.random.RandomState(5)
    X = rng.rand(32, 6, 3).astype(np.float32)
    Y = rng.rand(32, 6, 3).astype(np.float32)

    rows = range(0, 32, 8)

    def train(buffers: bool) -> tuple[np.ndarray, np.ndarray]:
        gc.collect()
        be = gen_backend("cpu", rng_seed=2, batch_size=8)
        data: Any = SequenceBuffers(X, Y, 6)
        if not buffers:  # batch-first (N, T, F) minibatches of neon shape (F, T)
            data = _Batches((torch.tensor(X[i : i + 8]), torch.tensor(Y[i : i + 8])) for i in rows)
        model = Model(
            [
                LSTM(
                    4,
                    Gaussian(0.3),
                    activation=Tanh(),
                    gate_activation=Logistic(),
                    reset_cells=True,
                ),
                Affine(3, Gaussian(scale=0.3)),
            ]
        )
        model.fit(data, GeneralizedCost(SumSquared()), GradientDescentMomentum(0.1, 0.9), 2)
        x = be.array(X[:8].transpose(2, 1, 0).reshape(3, 48))
        return model.layers.layers[0].W.detach().numpy().copy(), model.fprop(x, True).get()

    w_buf, y_buf = train(True)
    w_ref, y_ref = train(False)
    np.testing.assert_allclose(w_buf, w_ref, rtol=1e-5, atol=1e-7)
    assert y_buf.shape == (3, 48)  # neon's (nout, T·bsz)
    np.testing.assert_allclose(y_buf, y_ref, rtol=1e-5, atol=1e-7)
