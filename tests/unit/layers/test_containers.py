"""Branching and merging containers, Multicost and GeneralizedCostMask."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.errors import LayerConfigError, ShapeMismatchError
from neon_torch.initializers import Constant, Gaussian, Kaiming
from neon_torch.layers import (
    Activation,
    Affine,
    BranchNode,
    Conv,
    GeneralizedCost,
    GeneralizedCostMask,
    Linear,
    MergeBroadcast,
    MergeMultistream,
    MergeSum,
    Multicost,
    Pooling,
    Sequential,
    SingleOutputTree,
    SkipNode,
    Tree,
)
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import (
    CrossEntropyBinary,
    CrossEntropyMulti,
    Logistic,
    Misclassification,
    Rectlin,
    Softmax,
    SumSquared,
)


def _configured(layer, in_shape):
    layer.configure(in_shape)
    layer.allocate()
    return layer


def test_merge_broadcast_shapes_for_every_merge() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    stack = _configured(
        MergeBroadcast(
            [[Conv((3, 3, 2), Gaussian(), padding=1)], [Affine(5, Gaussian())]], "stack"
        ),
        (3, 4, 4),
    )
    assert stack.out_shape == 2 * 16 + 5
    assert stack(torch.randn(2, 3, 4, 4)).shape == (2, 37)
    depth = _configured(
        MergeBroadcast(
            [[Conv((3, 3, 2), Gaussian(), padding=1)], [Conv((1, 1, 3), Gaussian())]], "depth"
        ),
        (3, 4, 4),
    )
    assert depth.out_shape == (5, 4, 4)
    x = torch.randn(2, 3, 4, 4)
    y = depth(x)
    torch.testing.assert_close(y[:, :2], depth.layers[0](x))
    seqs = _configured(
        MergeBroadcast([Linear(4, Gaussian()), Linear(4, Gaussian())], "recurrent"), (3, 5)
    )
    assert seqs.out_shape == (4, 10)
    assert seqs(torch.randn(2, 5, 3)).shape == (2, 10, 4)


def test_merge_errors_name_the_container_paths_and_shapes() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    merge = MergeBroadcast(
        [[Conv((3, 3, 2), Gaussian(), padding=1)], [Conv((3, 3, 2), Gaussian())]], "depth"
    )
    with pytest.raises(ShapeMismatchError, match=r"MergeBroadcast_0.*\(2, 6, 6\).*\(2, 4, 4\)"):
        merge.configure((3, 6, 6))
    total = MergeSum([[Affine(4, Gaussian())], [Affine(5, Gaussian())]])
    with pytest.raises(ShapeMismatchError, match=r"MergeSum_0.*path 0 .*: 4.*path 1 .*: 5"):
        total.configure(3)
    with pytest.raises(LayerConfigError, match="unknown merge 'sideways'"):
        MergeBroadcast([[Affine(4, Gaussian())]], "sideways")


@pytest.mark.parametrize(("backend", "last_alpha"), [("cpu", 1.0), ("mkl", 2.0)])
def test_merge_broadcast_alphas_weight_the_input_gradient(backend: str, last_alpha: float) -> None:
    """neon's CPU backend drops the alpha of the last path when it starts with a Linear (its
    product overwrites the shared gradient and skips alpha then); other backends apply it."""
    gen_backend(backend, rng_seed=0, batch_size=2)
    merge = _configured(
        MergeBroadcast(
            [[Linear(3, Gaussian())], [Linear(2, Gaussian())]], "stack", alphas=[0.5, 2.0]
        ),
        4,
    )
    x = torch.randn(2, 4, requires_grad=True)
    merge(x).sum().backward()
    w0, w1 = merge.layers[0].layers[0].weight, merge.layers[1].layers[0].weight
    expected = 0.5 * w0.sum(0) + last_alpha * w1.sum(0)
    torch.testing.assert_close(x.grad, expected.expand(2, 4).detach())
    assert merge.get_description()["config"]["alphas"] == [0.5, 2.0]


def test_residual_merge_sum_with_skip_node() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    block = _configured(
        MergeSum([[Conv((3, 3, 3), Gaussian(), padding=1)], [SkipNode()]]), (3, 5, 5)
    )
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(block(x), block.layers[0](x) + x)


def _tree(alphas=None, cls=SingleOutputTree):
    b1 = BranchNode(name="b1")
    return cls(
        [
            [
                Affine(6, Gaussian(), activation=Rectlin()),
                b1,
                Affine(3, Gaussian(), activation=Softmax()),
            ],
            [BranchNode(name="b1"), Affine(3, Gaussian(), activation=Logistic(shortcut=True))],
        ],
        alphas=alphas,
    )


def test_branch_nodes_are_singletons_by_name_and_must_be_in_the_trunk() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    assert BranchNode(name="x") is BranchNode(name="x")
    tree = _tree()
    assert tree.layers[1].layers[0] is tree.layers[0].layers[2]
    with pytest.raises(LayerConfigError, match="must start with a BranchNode"):
        Tree([[Affine(3, Gaussian())], [Affine(2, Gaussian())]])


def test_tree_outputs_in_training_and_inference() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    single, full = _configured(_tree(), 5), _configured(_tree(cls=Tree), 5)
    assert single.out_shape == [3, 3]
    x = torch.randn(4, 5)
    assert [y.shape for y in single.fprop(x)] == [(4, 3), (4, 3)]
    assert single.fprop(x, inference=True).shape == (4, 3)
    assert isinstance(full.fprop(x, inference=True), list)
    assert str(single).startswith("SingleOutputTree\n  Sequential\n      Linear Layer")


@pytest.mark.parametrize(("backend", "expected"), [("cpu", [1.0]), ("mkl", [0.25])])
def test_tree_alpha_rule_per_backend(backend: str, expected: list[float]) -> None:
    """neon's CPU backend drops the alpha of a branch starting with a Linear (see Tree)."""
    gen_backend(backend, rng_seed=0, batch_size=4)
    tree = _configured(_tree(alphas=[1.0, 0.25]), 5)
    assert tree._branch_alphas == expected
    x = torch.randn(4, 5)
    trunk_layer = tree.layers[0].layers[0]
    grads = []
    for scale in (tree._branch_alphas[0], 1.0):
        tree._branch_alphas = [scale]
        trunk_layer.weight.grad = None
        ys = tree(x)
        torch.autograd.backward(ys[1], torch.ones_like(ys[1]))  # only the branch's gradient
        grads.append(trunk_layer.weight.grad.clone())
    torch.testing.assert_close(grads[0], expected[0] * grads[1])


def test_multicost_training_reports_the_first_cost_and_sums_weighted_costs() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=8)
    rng = np.random.RandomState(0)
    data = ArrayIterator(rng.rand(32, 5).astype(np.float32), rng.randint(2, size=32), nclass=3)
    model = Model(_tree())
    with pytest.raises(ShapeMismatchError, match="has 1 costs but the model has 2 output"):
        model.initialize(data, Multicost([GeneralizedCost(CrossEntropyMulti())]))
    model = Model(_tree())
    first, second = GeneralizedCost(CrossEntropyMulti()), GeneralizedCost(CrossEntropyBinary())
    cost = Multicost([first, second], weights=[1.0, 0.5])
    model.fit(data, cost, GradientDescentMomentum(0.1, 0.9), num_epochs=1)
    # the reported cost is the first one; the epoch total is the weighted sum
    x, t = next(iter(data))
    ys = model.fprop(x)
    value = cost.get_cost([y.detach() for y in ys], t)  # one target for every output
    expected = first.cost + 0.5 * second.cost
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(cost.cost, first.cost)
    assert model.get_outputs(data).shape == (32, 3)
    assert model.eval(data, Misclassification()).shape == (1,)


def test_merge_multistream_trains_on_two_input_streams() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    rng = np.random.RandomState(1)
    xa, xb = rng.rand(16, 3).astype(np.float32), rng.rand(16, 2 * 4 * 4).astype(np.float32)
    data = ArrayIterator([xa, xb], rng.randint(3, size=16), nclass=3)
    layers = [
        MergeMultistream([[Affine(4, Gaussian())], [Affine(5, Gaussian())]], merge="stack"),
        Affine(3, Gaussian(), activation=Softmax()),
    ]
    model = Model(layers)
    model.fit(data, GeneralizedCost(CrossEntropyMulti()), GradientDescentMomentum(0.1, 0.9), 2)
    out = model.get_outputs(data)
    merged = model.layers.layers[0]
    with torch.no_grad():
        a, b = torch.tensor(xa), torch.tensor(xb)
        h = torch.cat([merged.layers[0](a), merged.layers[1](b)], dim=1)
        ref = torch.softmax(model.layers.layers[1](h), dim=1)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ShapeMismatchError, match="needs a list of 2 input tensors"):
        merged(torch.zeros(4, 3))


def test_generalized_cost_mask() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    cost = GeneralizedCostMask(SumSquared(), weights=2.0)
    y, t = torch.rand(4, 3), torch.rand(4, 3)
    mask = torch.tensor([[1.0, 0.0, 1.0]]).expand(4, 3)
    value = cost.get_cost(y, (t, mask))
    expected = (((y - t) * mask) ** 2).sum(1).mul(0.5 * 2.0).mean()
    np.testing.assert_allclose(value, expected.reshape(1, 1), rtol=1e-6)
    delta = cost.get_errors(y, (t, mask))
    assert torch.all(delta[:, 1] == 0)
    torch.testing.assert_close(delta[:, 0], 2.0 * (y - t)[:, 0])
    with pytest.raises(ShapeMismatchError, match=r"\(t, mask\) pair"):
        cost.get_cost(y, t)


def _module(nfm: int, stride: int = 1, project: bool = False) -> list:
    """One residual module in the style of neon's cifar10_msra example."""

    def conv(size, maps, step=1, relu=True):
        return Conv(
            (size, size, maps),
            init=Kaiming(),
            strides=step,
            padding=size // 2,
            batch_norm=True,
            activation=Rectlin() if relu else None,
        )

    side = conv(1, nfm, stride, relu=False) if project else SkipNode()
    return [
        MergeSum([[conv(3, nfm, stride), conv(3, nfm, relu=False)], [side]]),
        Activation(Rectlin()),
    ]


def test_residual_network_builds_trains_and_evaluates() -> None:
    """neon's cifar10_msra topology with depth 2 (3 stages x 2 modules), on 3x8x8 images."""
    gen_backend("cpu", rng_seed=0, batch_size=8)
    rng = np.random.RandomState(2)
    data = ArrayIterator(
        rng.rand(32, 3 * 8 * 8).astype(np.float32),
        rng.randint(10, size=32),
        nclass=10,
        lshape=(3, 8, 8),
    )
    nfms = [16, 16, 32, 32, 64, 64]
    layers = [
        Conv((3, 3, 16), init=Kaiming(), padding=1, batch_norm=True, activation=Rectlin()),
        _module(16, project=True),
    ]
    for prev, nfm in itertools.pairwise(nfms):
        layers.append(_module(nfm, stride=1 if nfm == prev else 2, project=nfm != prev))
    layers += [
        Pooling("all", op="avg"),
        Affine(10, init=Kaiming(local=False), batch_norm=True, activation=Softmax()),
    ]
    model = Model(layers)
    cost = GeneralizedCost(CrossEntropyMulti())
    model.fit(data, cost, GradientDescentMomentum(0.1, 0.9, wdecay=1e-4), num_epochs=3)
    assert np.isfinite(model.total_cost).all()
    sums = [layer for layer in model.layers.layers if isinstance(layer, MergeSum)]
    assert len(sums) == 6 and sums[-1].out_shape == (64, 2, 2)
    outputs = model.get_outputs(data)
    assert outputs.shape == (32, 10)
    np.testing.assert_allclose(outputs.sum(1), 1.0, rtol=1e-5)
    assert 0.0 <= model.eval(data, Misclassification())[0] <= 1.0
    assert "MergeSum\n      Sequential\n          Convolution Layer" in str(model)
    desc = model.get_description(get_weights=True)
    assert desc["model"]["config"]["layers"][3]["type"] == "neon.layers.container.MergeSum"


def test_sequential_paths_keep_their_containers() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    inner = Sequential([Affine(3, Constant(1.0))])
    merge = MergeSum([inner, [Affine(3, Constant(2.0))]])
    assert merge.layers[0] is inner
    _configured(merge, 2)
    torch.testing.assert_close(merge(torch.ones(1, 2)), torch.full((1, 3), 6.0))


def test_plain_torch_modules_of_containers() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    x = torch.randn(4, 5)
    tree = _configured(_tree(cls=Tree), 5)
    plain = tree.to_torch()
    for got, want in zip(plain(x), tree.fprop(x, inference=True), strict=True):
        torch.testing.assert_close(got, want)
    single = _configured(_tree(), 5)
    torch.testing.assert_close(single.to_torch()(x), single.fprop(x, inference=True))
    streams = _configured(
        MergeMultistream([[Affine(4, Gaussian())], [Linear(4, Gaussian())]], merge="recurrent"),
        [(2, 3), (2, 5)],
    )
    xs = [torch.randn(4, 3, 2), torch.randn(4, 5, 2)]
    torch.testing.assert_close(streams.to_torch()(xs), streams.fprop(xs, inference=True))
