"""BinaryLinear, BinaryAffine, ShiftBatchNorm and Sign: neon's rounding forward, neon's
straight-through backward, names, descriptions, conversion (the numbers of a whole training
run are pinned against the real neon in tests/golden/test_binary.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.errors import NotConfiguredError
from neon_torch.initializers import Uniform
from neon_torch.layers import (
    BatchNorm,
    BinaryAffine,
    BinaryLinear,
    GeneralizedCost,
    ShiftBatchNorm,
)
from neon_torch.layers._shift import ap2
from neon_torch.models import Model
from neon_torch.transforms import Identity, Sign, SquareHingeLoss


def test_ap2_rounds_to_signed_powers_of_two() -> None:
    a = torch.tensor([3.0, -3.0, 0.3, 1.0, 0.0, -0.7, 1.5])
    torch.testing.assert_close(ap2(a), torch.tensor([4.0, -4.0, 0.25, 1.0, 0.0, -0.5, 2.0]))


def test_binary_linear_uses_signs_forward_and_passes_gradient_straight_through() -> None:
    gen_backend("cpu", batch_size=4)
    layer = BinaryLinear(3, init=Uniform(-1, 1))
    layer.configure(5)
    layer.allocate()
    x = torch.randn(4, 5, requires_grad=True)
    y = layer(x)
    wb = torch.where(layer.weight >= 0, 1.0, -1.0).detach()
    torch.testing.assert_close(y, x @ wb.T)
    err = torch.randn(4, 3)
    y.backward(err)
    torch.testing.assert_close(layer.weight.grad, err.T @ x.detach())  # dW = error · x^T
    torch.testing.assert_close(x.grad, err @ wb)  # Wb^T · error
    assert str(layer) == "BinaryLinear Layer 'BinaryLinear_0': 5 inputs, 3 outputs"
    plain = layer.to_torch()
    torch.testing.assert_close(plain(x.detach()), y.detach())


def test_sign_straight_through_estimator() -> None:
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    sign = Sign()
    y = sign(x)
    torch.testing.assert_close(y, torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]))
    y.backward(torch.full_like(y, 2.0))
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0]))
    torch.testing.assert_close(sign.bprop(y), x.grad / 2)  # reads the input, not y
    with pytest.raises(NotConfiguredError):
        Sign().bprop(y)


def test_square_hinge_loss_values_and_delta() -> None:
    y = torch.tensor([[0.5, -2.0, 0.0]])
    t = torch.tensor([[1.0, 0.0, 0.0]])
    # s = [1, -1, -1]; margins 1 - s·y = [0.5, -1, 1] -> [0.5, 0, 1]
    torch.testing.assert_close(SquareHingeLoss()(y, t), torch.tensor([(0.25 + 1.0) / 3]))
    torch.testing.assert_close(
        SquareHingeLoss().bprop(y, t), torch.tensor([[-1.0 / 3, 0.0, 2.0 / 3]])
    )


def test_binary_affine_parts_and_names() -> None:
    gen_backend("cpu", batch_size=4)
    parts = BinaryAffine(8, init=Uniform(-1, 1), batch_norm=True, activation=Sign())
    assert [type(p).__name__ for p in parts] == ["BinaryLinear", "ShiftBatchNorm", "Activation"]
    assert [p.name for p in parts] == [
        "BinaryLinear_0",
        "BinaryLinear_0_sbnorm",
        "BinaryLinear_0_Sign",
    ]
    assert parts[0].bsum
    assert (parts[1].rho, parts[1].eps, parts[1].binary) == (0.99, 1e-6, True)
    named = BinaryAffine(2, init=Uniform(-1, 1), bias=Uniform(-1, 1), name="out")
    assert [p.name for p in named] == ["out", "out_bias"]
    with pytest.raises(AttributeError):
        BinaryAffine(2, init=Uniform(-1, 1), bias=Uniform(), batch_norm=True)


def test_shift_batchnorm_on_images_and_its_backward() -> None:
    """Statistics per channel over (N, H, W); neon's backward, checked on one channel."""
    gen_backend("cpu", batch_size=2)
    bn = ShiftBatchNorm()
    bn.configure((3, 2, 2))
    bn.allocate()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.7, -1.2, 3.0]))
    x = torch.randn(2, 3, 2, 2, dtype=torch.float32, requires_grad=True)
    y = bn.fprop(x)
    c = x.detach().transpose(0, 1).reshape(3, -1)
    d = c - c.mean(1, keepdim=True)
    inv = ap2(1.0 / torch.sqrt((d * ap2(d)).mean(1, keepdim=True) + 1e-6))
    xhat = d * inv
    gamma = bn.weight.detach().view(-1, 1)
    expected = (xhat * ap2(gamma)).reshape(3, 2, 2, 2).transpose(0, 1)
    torch.testing.assert_close(y, expected)
    delta = torch.randn_like(y)
    y.backward(delta)
    dc = delta.transpose(0, 1).reshape(3, -1)
    g_gamma = (xhat * dc).sum(1, keepdim=True)
    g_beta = dc.sum(1, keepdim=True)
    dx = (dc - (xhat * ap2(g_gamma) + g_beta) / 8) * ap2(gamma) * inv
    torch.testing.assert_close(x.grad, dx.reshape(3, 2, 2, 2).transpose(0, 1))
    torch.testing.assert_close(bn.weight.grad, g_gamma.view(-1))
    torch.testing.assert_close(bn.bias.grad, g_beta.view(-1))


def test_binary_model_description_round_trip(tmp_path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    rng = np.random.RandomState(0)
    data = ArrayIterator(rng.randn(8, 6).astype(np.float32), rng.randint(3, size=8), nclass=3)
    model = Model(
        [
            BinaryAffine(5, init=Uniform(-1, 1), batch_norm=True, activation=Sign()),
            BinaryAffine(3, init=Uniform(-1, 1), batch_norm=True, activation=Identity()),
        ]
    )
    model.initialize(data, GeneralizedCost(costfunc=SquareHingeLoss()))
    layers = model.get_description()["model"]["config"]["layers"]
    assert [d["type"] for d in layers[:3]] == [
        "neon.layers.layer.BinaryLinear",
        "neon.layers.layer.ShiftBatchNorm",
        "neon.layers.layer.Activation",
    ]
    assert layers[2]["config"]["transform"]["type"] == "neon.transforms.activation.Sign"
    model.save_params(str(tmp_path / "b.prm"))
    again = Model(str(tmp_path / "b.prm"))
    again.initialize(data)
    np.testing.assert_array_equal(again.get_outputs(data), model.get_outputs(data))
    assert isinstance(again.layers.layers[1], ShiftBatchNorm)
    assert not isinstance(BatchNorm(), ShiftBatchNorm)


def test_backend_binarize_and_shift() -> None:
    be = gen_backend("cpu", batch_size=4)
    a = be.array(np.array([[0.3, -0.2], [0.0, -3.0]], dtype=np.float32))
    out = be.empty((2, 2))
    be.binarize(a, out, stochastic=False)
    np.testing.assert_array_equal(out.get(), [[1, -1], [1, -1]])
    shifted = be.shift(be.array(np.full((2, 2), 3.0, dtype=np.float32)), a)
    np.testing.assert_allclose(shifted.get(), [[0.75, -0.75], [0.0, -12.0]])
    np.testing.assert_allclose(
        be.shift(a, be.array(np.ones((2, 2))), value=False).get(), a.get() * 2
    )
    np.random.seed(0)
    be.binarize(be.array(np.array([[-5.0, 5.0]], dtype=np.float32)), out[:1], stochastic=True)
    np.testing.assert_array_equal(out.get()[0], [-1, 1])  # probabilities 0 and 1
