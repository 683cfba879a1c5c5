"""Dense layers: neon names, shapes from data, Dropout and BatchNorm rules, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.errors import NotConfiguredError
from neon_torch.initializers import Constant, Gaussian, IdentityInit
from neon_torch.layers import Affine, BatchNorm, Bias, Dropout, Linear, Sequential
from neon_torch.transforms import Rectlin, Softmax


def test_affine_expands_into_named_parts() -> None:
    gen_backend("cpu", batch_size=4)
    first = Affine(8, init=Gaussian(), bias=Constant(0.5), activation=Rectlin())
    second = Affine(3, init=Gaussian(), batch_norm=True, activation=Softmax(), name="fc")
    assert [layer.name for layer in first] == ["Linear_0", "Linear_0_bias", "Linear_0_Rectlin"]
    assert [layer.name for layer in second] == ["fc", "fc_bnorm", "fc_Softmax"]
    assert second[0].bsum is True and first[0].bsum is False
    assert [type(layer).__name__ for layer in Sequential([first, second]).layers] == [
        "Linear", "Bias", "Activation", "Linear", "BatchNorm", "Activation",
    ]  # fmt: skip


def test_bias_with_batch_norm_raises_like_neon() -> None:
    gen_backend("cpu", batch_size=4)
    with pytest.raises(AttributeError, match=r"both bias=.* and batch_norm=True"):
        Affine(3, init=Gaussian(), bias=Constant(), batch_norm=True)


def test_shapes_come_from_the_data_and_images_flatten_in_chw_order() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    seq = Sequential([Linear(4, init=Gaussian()), Bias(init=Constant(1.0))])
    seq.configure((3, 2, 2))
    seq.allocate()
    assert seq.layers[0].nin == 12 and seq.out_shape == 4
    x = torch.randn(2, 3, 2, 2)
    expected = x.reshape(2, 12) @ seq.layers[0].weight.detach().T + 1.0
    torch.testing.assert_close(seq(x), expected)


def test_per_channel_bias_on_images() -> None:
    gen_backend("cpu", batch_size=2)
    bias = Bias(init=Constant(np.arange(3.0).reshape(3, 1)))
    bias.configure((3, 2, 2))
    bias.allocate()
    out = bias(torch.zeros(2, 3, 2, 2))
    assert out[:, 2].eq(2.0).all() and out[:, 0].eq(0.0).all()
    assert str(bias) == "Bias Layer 'Bias_0': size 3 x (2x2)"


def test_layer_used_before_allocate_says_what_to_do() -> None:
    gen_backend("cpu", batch_size=2)
    layer = Linear(3, init=Gaussian())
    with pytest.raises(NotConfiguredError, match=r"initialize\(dataset\)"):
        layer(torch.zeros(2, 4))


def test_dropout_is_not_inverted_and_draws_neons_mask() -> None:
    be = gen_backend("cpu", rng_seed=7, batch_size=4)
    drop = Dropout(keep=0.25)
    drop.configure(5)
    x = torch.arange(20, dtype=torch.float32).reshape(4, 5) + 1.0
    y = drop.fprop(x)
    mask = np.random.RandomState(7).uniform(size=(5, 4)) < 0.25  # neon layout (F, N)
    np.testing.assert_array_equal(y.numpy(), x.numpy() * mask.T)
    torch.testing.assert_close(drop.fprop(x, inference=True), x * 0.25)
    assert be.rng.uniform() == np.random.RandomState(7).uniform(size=21)[-1]


def test_caffe_mode_dropout_is_the_torch_convention() -> None:
    gen_backend("cpu", rng_seed=1, batch_size=4, compat_mode="caffe")
    drop = Dropout(keep=0.5)
    drop.configure(3)
    x = torch.ones(4, 3)
    y = drop.fprop(x)
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    torch.testing.assert_close(drop.fprop(x, inference=True), x)


def test_batchnorm_running_statistics_follow_neon() -> None:
    gen_backend("cpu", batch_size=4)
    bn = BatchNorm(rho=0.5)
    bn.configure(2)
    bn.allocate()
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    y = bn.fprop(x)
    mean, var = x.mean(0), x.var(0, unbiased=False)  # neon: biased batch variance
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(var + 1e-3))
    torch.testing.assert_close(bn.running_mean, 0.5 * mean)  # starts at 0
    torch.testing.assert_close(bn.running_var, 0.5 * var)  # starts at 0, not 1
    z = bn.fprop(x, inference=True)
    torch.testing.assert_close(z, (x - 0.5 * mean) / torch.sqrt(0.5 * var + 1e-3))
    beta, gamma = bn.optimized_parameters()  # neon's order
    assert beta is bn.bias and gamma is bn.weight


def test_batchnorm_binary_trains_with_shift_arithmetic() -> None:
    """neon's BatchNorm(binary=True): power-of-two statistics while training, plain
    normalization with the running statistics at inference."""
    gen_backend("cpu", batch_size=8)
    bn = BatchNorm(binary=True)
    bn.configure(3)
    bn.allocate()
    x = torch.randn(8, 3) * 3 + 1
    y = bn.fprop(x)
    d = x - x.mean(0)
    var = (d.abs() * 2.0 ** torch.round(torch.log2(d.abs()))).mean(0)  # d * AP2(d)
    inv = 2.0 ** torch.round(torch.log2(1.0 / torch.sqrt(var + 1e-3)))
    torch.testing.assert_close(y, d * inv)
    torch.testing.assert_close(bn.running_var, 0.1 * var)
    z = bn.fprop(x, inference=True)
    torch.testing.assert_close(z, (x - 0.1 * x.mean(0)) / torch.sqrt(0.1 * var + 1e-3))


def test_identity_initialized_layers_are_frozen() -> None:
    gen_backend("cpu", batch_size=2)
    seq = Sequential([Linear(3, init=IdentityInit()), Linear(2, init=Gaussian())])
    assert [layer.name for layer in seq.layers_to_optimize()] == ["Linear_1"]


def test_allocation_order_draws_the_last_output_owner_first() -> None:
    gen_backend("cpu", rng_seed=5, batch_size=2)
    seq = Sequential(
        [Affine(4, init=Gaussian(), bias=Gaussian()), Affine(2, init=Gaussian(), bias=Gaussian())]
    )
    seq.configure(3)
    seq.allocate()
    rng = np.random.RandomState(5)
    expected = {
        "Linear_1": rng.normal(0, 1, (2, 4)),
        "Linear_0": rng.normal(0, 1, (4, 3)),
        "Linear_0_bias": rng.normal(0, 1, (4, 1)),
        "Linear_1_bias": rng.normal(0, 1, (2, 1)),
    }
    for layer in seq.layers_to_optimize():
        np.testing.assert_array_equal(layer.neon_params()["W"], expected[layer.name].astype("f4"))
