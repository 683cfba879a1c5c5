"""Convolution, pooling, LRN, Reshape and DataTransform: neon's rules checked against plain
numpy re-implementations of neon's formulas (NEON_SEMANTICS §3.4-3.13)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.errors import LayerConfigError, ShapeMismatchError
from neon_torch.initializers import Constant, Gaussian
from neon_torch.layers import (
    LRN,
    Affine,
    Conv,
    Convolution,
    DataTransform,
    Deconv,
    GeneralizedCost,
    Pooling,
    Reshape,
)
from neon_torch.layout import batch_first_to_neon, neon_to_batch_first
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Normalizer, Rectlin, Softmax


def _layer(layer, in_shape):
    layer.configure(in_shape)
    layer.allocate()
    return layer


def _neon_conv(x, W, pad, stride, dil, nout):
    """neon's convolution formula on one (C, H, W) sample, straight from the spec."""
    c, h, w = x.shape
    (ph, pw), (sh, sw), (dh, dw) = pad, stride, dil
    r = s = round((W.shape[0] / c) ** 0.5)
    filt = W.reshape(c, r, s, nout)
    xp = np.zeros((c, h + 2 * ph, w + 2 * pw), x.dtype)
    xp[:, ph : ph + h, pw : pw + w] = x
    p_out = (h + 2 * ph - (dh * (r - 1) + 1)) // sh + 1
    q_out = (w + 2 * pw - (dw * (s - 1) + 1)) // sw + 1
    out = np.zeros((nout, p_out, q_out), np.float64)
    for k, p, q in itertools.product(range(nout), range(p_out), range(q_out)):
        patch = xp[
            :, p * sh : p * sh + dh * (r - 1) + 1 : dh, q * sw : q * sw + dw * (s - 1) + 1 : dw
        ]
        out[k, p, q] = (patch * filt[:, :, :, k]).sum()
    return out


@pytest.mark.parametrize(
    ("strides", "padding", "dilation", "expect"),
    [
        (1, 0, 1, ((0, 0), (1, 1), (1, 1))),
        (2, 1, 1, ((1, 1), (2, 2), (1, 1))),
        ({"str_h": 2, "str_w": 1}, {"pad_h": 2, "pad_w": 0}, {}, ((2, 0), (2, 1), (1, 1))),
        ({}, 2, {"dil_h": 2, "dil_w": 3}, ((2, 2), (1, 1), (2, 3))),
    ],
)
def test_convolution_matches_neon_formula(strides, padding, dilation, expect) -> None:
    gen_backend("cpu", rng_seed=1, batch_size=2)
    conv = _layer(
        Convolution((3, 3, 4), strides, padding, dilation, init=Gaussian(scale=0.3)), (2, 7, 6)
    )
    x = np.random.RandomState(0).randn(2, 2, 7, 6).astype(np.float32)
    y = conv.fprop(torch.tensor(x), inference=True).numpy()
    W = conv.neon_params()["W"]
    assert W.shape == (2 * 3 * 3, 4)
    for n in range(2):
        ref = _neon_conv(x[n], W, *expect, nout=4)
        np.testing.assert_allclose(y[n], ref, rtol=1e-5, atol=1e-5)
    assert conv.out_shape == y.shape[1:]


def test_weight_layout_round_trip_and_bias_fusion() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    layers = Conv((3, 3, 5), init=Gaussian(), bias=Constant(0.5), activation=Rectlin())
    assert [type(p).__name__ for p in layers] == ["Convolution_bias", "Activation"]
    assert layers[1].name == f"{layers[0].name}_Rectlin"
    conv = _layer(layers[0], (4, 6, 6))
    params = conv.neon_params()
    assert params["W"].shape == (36, 5) and params["weight_bias"].shape == (5, 1)
    assert np.all(params["weight_bias"] == 0.5)
    new_w = np.arange(180, dtype=np.float32).reshape(36, 5)
    conv.set_neon_params({"W": new_w, "weight_bias": np.ones((5, 1), np.float32)})
    assert np.array_equal(conv.neon_params()["W"], new_w)
    assert torch.equal(conv.weight[2, 1], torch.tensor(new_w.reshape(4, 3, 3, 5)[1, :, :, 2]))
    with pytest.raises(ShapeMismatchError, match="expected W"):
        conv.set_neon_params({"W": new_w.T})
    assert np.array_equal(conv.neon_params()["W"], new_w)  # unchanged by the failed call
    desc = conv.get_description()
    assert desc["type"] == "neon.layers.layer.Convolution_bias"
    assert desc["config"]["bias"]["type"].endswith("Constant")


def test_conv_with_bias_and_batch_norm_is_refused() -> None:
    with pytest.raises(AttributeError, match="batch_norm"):
        Conv((3, 3, 4), init=Gaussian(), bias=Constant(0), batch_norm=True)


def test_deconv_names_and_transposed_convolution() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    parts = Deconv((3, 3, 2), init=Gaussian(), strides=2, padding=1, bias=Constant(0), name="up")
    assert parts[0].name == "Deconvolution_0"  # neon never forwards the name
    assert [p.name for p in parts[1:]] == ["up_bias"]
    deconv = _layer(parts[0], (3, 4, 4))
    assert deconv.out_shape == (2, 7, 7)
    assert deconv.neon_params()["W"].shape == (2 * 9, 3)
    # a deconvolution is the input gradient of the convolution with the same W
    x = torch.randn(2, 3, 4, 4)
    y = deconv.fprop(x, inference=True)
    conv = _layer(Convolution((3, 3, 3), strides=2, padding=1, init=Constant(0)), (2, 7, 7))
    conv.set_neon_params({"W": deconv.neon_params()["W"]})
    z = torch.zeros(2, 2, 7, 7, requires_grad=True)
    conv(z).backward(x)
    torch.testing.assert_close(y, z.grad)


def test_3d_convolution_shapes_and_dropped_depth() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    conv = _layer(
        Convolution((3, 3, 3, 4), padding={"pad_d": 1, "pad_h": 1, "pad_w": 1}, init=Gaussian()),
        (2, 5, 6, 6),
    )
    assert conv.out_shape == (4, 5, 6, 6)
    assert conv.neon_params()["W"].shape == (2 * 27, 4)
    assert conv.fprop(torch.randn(2, 2, 5, 6, 6)).shape == (2, 4, 5, 6, 6)
    # int padding sets height and width only; depth 3 with a depth-3 filter leaves one slice
    flat = _layer(Convolution((3, 3, 3, 4), padding=1, init=Gaussian()), (2, 3, 6, 6))
    assert flat.out_shape == (4, 6, 6)
    assert flat.fprop(torch.randn(2, 2, 3, 6, 6)).shape == (2, 4, 6, 6)


def _neon_pool(x, op, k, s, pad, out):
    """neon pooling of one (C, H, W) sample: padded cells never count."""
    c, h, w = x.shape
    res = np.zeros((c, *out), np.float64)
    for ch, p, q in itertools.product(range(c), range(out[0]), range(out[1])):
        h0, w0 = p * s[0] - pad[0], q * s[1] - pad[1]
        win = x[ch, max(h0, 0) : min(h0 + k[0], h), max(w0, 0) : min(w0 + k[1], w)]
        res[ch, p, q] = (
            {"max": np.max, "avg": np.mean}[op](win)
            if op != "l2"
            else np.sqrt((win.astype(np.float64) ** 2).sum())
        )
    return res


@pytest.mark.parametrize(
    ("fshape", "strides", "padding", "op", "caffe", "out"),
    [
        (2, {}, {}, "max", False, (4, 4)),
        (2, {}, {}, "avg", False, (4, 4)),
        (3, 2, 1, "max", False, (4, 4)),
        (3, 2, 1, "avg", False, (4, 4)),
        (3, 1, 2, "max", False, (10, 10)),  # padding > window/2: explicit padding path
        (3, 1, 2, "avg", False, (10, 10)),
        ((3, 2), {"str_h": 2}, {"pad_w": 1}, "avg", False, (3, 5)),  # str_w = window
        (3, 2, 0, "max", True, (4, 4)),  # caffe: ceil rule
        (3, 2, 1, "avg", True, (5, 5)),
        (2, 2, 1, "l2", False, (5, 5)),
    ],
)
def test_pooling_matches_neon_rules(fshape, strides, padding, op, caffe, out) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2, compat_mode="caffe" if caffe else None)
    pool = _layer(Pooling(fshape, op=op, strides=strides, padding=padding), (3, 8, 8))
    assert pool.out_shape == (3, *out)
    x = np.random.RandomState(1).randn(2, 3, 8, 8).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    y = pool(xt)
    w = pool.window
    for n in range(2):
        ref = _neon_pool(x[n], op, w.kernel[1:], w.stride[1:], w.padding[1:], out)
        np.testing.assert_allclose(y[n].detach().numpy(), ref, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    assert torch.isfinite(xt.grad).all()


def test_global_pooling_and_description() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    pool = _layer(Pooling("all", op="avg"), (5, 3, 4))
    assert pool.out_shape == (5, 1, 1)
    x = torch.randn(2, 5, 3, 4)
    torch.testing.assert_close(pool(x)[:, :, 0, 0], x.mean(dim=(2, 3)))
    assert Pooling(2).get_description()["config"] == {"name": "Pooling_1", "fshape": 2}
    assert str(pool) == "Pooling Layer 'Pooling_0': 5 x (3x4) inputs, 5 x (1x1) outputs"


def test_lrn_matches_neon_formula() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    lrn = _layer(LRN(depth=3, ascale=0.5, bpower=0.75), (5, 2, 2))
    x = np.random.RandomState(2).randn(2, 5, 2, 2).astype(np.float32)
    y = lrn(torch.tensor(x)).numpy()
    sq = np.pad(x.astype(np.float64) ** 2, ((0, 0), (1, 1), (0, 0), (0, 0)))
    window = sq[:, :-2] + sq[:, 1:-1] + sq[:, 2:]
    np.testing.assert_allclose(y, x / (1 + 0.5 / 3 * window) ** 0.75, rtol=1e-5)
    with pytest.raises(LayerConfigError, match="odd"):
        LRN(depth=4)


def test_reshape_reads_samples_in_neon_order() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    x = np.random.RandomState(3).randn(2, 3, 4, 5).astype(np.float32)  # (N, C, H, W)
    buf = batch_first_to_neon(x, (3, 4, 5))  # neon (C·H·W, N)
    # (C, H, W) -> (C·H, W): neon reshapes its 2-D buffer row-major to (C·H, W·N)
    seq = _layer(Reshape((0 * 0 + 12, 5)), (3, 4, 5))
    assert seq.out_shape == (12, 5)
    got = seq(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(got, neon_to_batch_first(buf.reshape(12, 5 * 2), (12, 5)))
    # a sequence (F, T) -> F·T flattens feature-major: f·T + t
    flat = _layer(Reshape(-1), (12, 5))
    back = flat(torch.tensor(got)).numpy()
    np.testing.assert_array_equal(back, x.reshape(2, -1))
    copy = _layer(Reshape((0, -1)), (3, 4, 5))
    assert copy.out_shape == (3, 20)
    with pytest.raises(ShapeMismatchError, match="features"):
        _layer(Reshape((7, 3)), (3, 4, 5))


def test_data_transform_has_no_gradient() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    layer = _layer(DataTransform(Normalizer(divisor=4.0)), (3, 2, 2))
    x = torch.full((2, 3, 2, 2), 8.0, requires_grad=True)
    y = layer(x)
    assert torch.all(y == 2.0) and not y.requires_grad
    assert str(layer) == "DataTransform Layer 'DataTransform_0': Normalizer"


def test_softmax_after_global_pooling_spans_all_features() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    x = np.random.RandomState(4).rand(8, 3 * 4 * 4).astype(np.float32)
    data = ArrayIterator(x, np.arange(8) % 3, nclass=3, lshape=(3, 4, 4))
    layers = [
        Conv((1, 1, 3), init=Gaussian()),
        Pooling("all", op="avg"),
        Affine(3, Gaussian(), activation=Softmax()),
    ]
    out = Model(layers).get_outputs(data)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("build", "in_shape", "match"),
    [
        (lambda: Convolution((5, 5, 2), init=Gaussian()), (1, 3, 3), "smaller than the window"),
        (lambda: Convolution((3, 3, 2), init=Gaussian()), 12, r"\(C, H, W\)"),
        (lambda: Pooling(4), (2, 3, 3), "smaller than the window"),
        (lambda: Pooling(2, padding=2), (2, 6, 6), "smaller than the window"),  # padding
    ],
)
def test_shapes_that_do_not_fit_name_the_layer(build, in_shape, match) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    layer = build()
    with pytest.raises((ShapeMismatchError, LayerConfigError), match=match) as info:
        layer.configure(in_shape)
    assert layer.name in str(info.value) and str(in_shape) in str(info.value)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Pooling(2, op="median"), "unknown op 'median'"),
        (lambda: Pooling(2, padding={"pad_x": 1}), r"unknown key\(s\) \['pad_x'\]"),
        (lambda: Convolution((3, 3, 2), strides={"stride_h": 2}), "str_h"),
        (lambda: Convolution((3, 3)), "fshape must be"),
        (lambda: Convolution({"R": 3, "S": 3}), "missing"),
    ],
)
def test_bad_arguments_are_refused_at_construction(build, match) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    with pytest.raises(LayerConfigError, match=match):
        build()


def test_channel_count_must_match_the_initialized_model() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    data = ArrayIterator(np.zeros((4, 3 * 36), np.float32), np.zeros(4), nclass=2, lshape=(3, 6, 6))
    model = Model([Conv((3, 3, 2), init=Gaussian()), Affine(2, Gaussian())])
    model.initialize(data)
    with pytest.raises(ShapeMismatchError, match=r"Convolution_0.*\(3, 6, 6\).*\(2, 4, 6, 6\)"):
        model.fprop(torch.zeros(2, 4, 6, 6))
    with pytest.raises(ShapeMismatchError, match="3 input channels"):
        model.layers.layers[0](torch.zeros(2, 4, 6, 6))


def test_channels_last_option_gives_the_same_numbers() -> None:
    x = np.random.RandomState(5).rand(8, 3 * 8 * 8).astype(np.float32)
    y = np.arange(8) % 2
    outs = []
    for channels_last in (False, True):
        gen_backend("cpu", rng_seed=0, batch_size=4, channels_last=channels_last)
        data = ArrayIterator(x, y, nclass=2, lshape=(3, 8, 8))
        model = Model(
            [
                Conv((3, 3, 4), init=Gaussian(), bias=Constant(0.1), padding=1),
                Pooling(2),
                Affine(2, Gaussian(), activation=Softmax()),
            ]
        )
        model.initialize(data)
        if channels_last:
            assert model.layers.layers[0].weight.is_contiguous(memory_format=torch.channels_last)
        outs.append(model.get_outputs(data))
        del model
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-7)


@pytest.mark.cuda
@pytest.mark.parametrize("channels_last", [False, True])
def test_convnet_on_cuda_matches_the_cpu(channels_last: bool) -> None:
    x = np.random.RandomState(6).rand(16, 3 * 8 * 8).astype(np.float32)
    y = np.arange(16) % 3
    outs = []
    for backend in ("cpu", "gpu"):
        gen_backend(
            backend,
            rng_seed=0,
            batch_size=8,
            channels_last=channels_last,
            cudnn_benchmark=backend == "gpu",
        )
        data = ArrayIterator(x, y, nclass=3, lshape=(3, 8, 8))
        model = Model(
            [
                Conv((3, 3, 4), init=Gaussian(), padding=1, batch_norm=True, activation=Rectlin()),
                Pooling(2, op="avg"),
                Affine(3, Gaussian(), activation=Softmax()),
            ]
        )
        model.fit(
            data,
            GeneralizedCost(CrossEntropyMulti()),
            GradientDescentMomentum(0.1, 0.9),
            num_epochs=2,
        )
        outs.append(model.get_outputs(data))
        del model
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Pooling(3, strides=1, padding=2, op="avg"),  # explicit-padding path
        lambda: Pooling(3, strides=2, padding=1),
        lambda: Pooling(2, op="l2", padding=1, strides=2),
        lambda: LRN(depth=3, ascale=0.1, bpower=0.75),
        lambda: Reshape((6, 8)),
        lambda: DataTransform(Normalizer(divisor=4.0)),
        lambda: Convolution((3, 3, 2), strides=2, dilation=2, padding=2, init=Gaussian()),
        lambda: Deconv((3, 3, 2), init=Gaussian(), strides=2)[0],
    ],
)
def test_plain_torch_modules_match_the_layers(build) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    layer = _layer(build(), (3, 4, 4))
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(layer.to_torch()(x), layer.fprop(x, inference=True))


def test_3d_plain_module_and_export() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    conv = _layer(Convolution((3, 3, 3, 4), padding=1, init=Gaussian()), (2, 3, 6, 6))
    x = torch.randn(2, 2, 3, 6, 6)
    torch.testing.assert_close(conv.to_torch()(x), conv.fprop(x, inference=True))
    data = ArrayIterator(
        np.random.RandomState(0).rand(4, 3 * 36).astype(np.float32),
        np.arange(4) % 2,
        nclass=2,
        lshape=(3, 6, 6),
    )
    model = Model(
        [
            Conv((3, 3, 4), init=Gaussian(), bias=Constant(0.1), activation=Rectlin()),
            Pooling(2),
            Affine(2, Gaussian(), activation=Softmax()),
        ]
    )
    model.initialize(data)
    plain = model.to_torch()
    assert "Convolution_bias_0.weight" in plain.state_dict()
    assert "Convolution_bias_0.bias" in plain.state_dict()
    exported = torch.export.export(plain, (torch.randn(2, 3, 6, 6),))
    xb = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(exported.module()(xb), model.fprop(xb, inference=True))
