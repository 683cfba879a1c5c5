"""One harness over every layer type in the registry: each gets a small model that is
checked for its gradients (autograd against finite differences, for the input and for every
parameter), for its description round trip (``Model(model.get_description(...))``) and for its
``.prm`` round trip (``save_params`` then ``Model(path)``).

A new layer registered without a case here fails :func:`test_every_registered_layer_has_a_case`.
Layers whose backward is, by neon's design, not the derivative of their forward (binary
straight-through estimators, random masks) skip only the gradient check, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import neon_torch.registry as registry
from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.initializers import Constant, Gaussian, Uniform
from neon_torch.layers import (
    GRU,
    LRN,
    LSTM,
    Activation,
    Affine,
    BatchNorm,
    Bias,
    BiBNRNN,
    BiLSTM,
    BinaryLinear,
    BiRNN,
    BiSum,
    BranchNode,
    Convolution,
    Convolution_bias,
    DataTransform,
    Deconvolution,
    Dropout,
    Linear,
    LookupTable,
    MergeBroadcast,
    MergeMultistream,
    MergeSum,
    Pooling,
    Recurrent,
    RecurrentLast,
    RecurrentMean,
    RecurrentSum,
    Reshape,
    Seq2Seq,
    ShiftBatchNorm,
    SingleOutputTree,
    SkipNode,
    SkipThought,
    Tree,
)
from neon_torch.layers._base import Layer
from neon_torch.models import Model
from neon_torch.transforms import Logistic, Normalizer, Rectlin, Tanh

N = 3  # batch size


def _g() -> Gaussian:
    return Gaussian(scale=0.3)


def _gru(n: int = 4) -> GRU:
    return GRU(n, _g(), activation=Tanh(), gate_activation=Logistic(), reset_cells=True)


@dataclass
class Case:
    layers: Callable[[], Any]
    shape: Any  # what Model.initialize gets (a callable: makes it, after gen_backend)
    inputs: Callable[[torch.Generator], Any]  # batch-first input(s) of N samples
    no_gradient: str = ""  # why the gradient check does not apply
    input_gradient: bool = True  # the input's gradient is checked too


def _floats(*dims: int) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda g: torch.randn(N, *dims, generator=g, dtype=torch.float64)


def _tokens(vocab: int, steps: int) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda g: torch.randint(0, vocab, (N, steps), generator=g).to(torch.float64)


def _tree() -> Tree:
    trunk = BranchNode(name="harness_b")
    return Tree([[Linear(4, _g()), trunk, Linear(3, _g())], [trunk, Linear(2, _g())]])


def _single_tree() -> SingleOutputTree:
    trunk = BranchNode(name="harness_s")
    return SingleOutputTree([[Linear(4, _g()), trunk, Linear(3, _g())], [trunk, Linear(2, _g())]])


def _two_streams(g: torch.Generator) -> list[torch.Tensor]:
    return [
        torch.randn(N, 4, generator=g, dtype=torch.float64),
        torch.randn(N, 6, generator=g, dtype=torch.float64),
    ]


def _seq2seq_inputs(g: torch.Generator) -> list[torch.Tensor]:
    return [
        torch.randn(N, 3, 2, generator=g, dtype=torch.float64),
        torch.randn(N, 3, 2, generator=g, dtype=torch.float64),
    ]


STRAIGHT_THROUGH = "neon's binary layers back-propagate a straight-through estimate, by design"
CASES: dict[str, Case] = {
    "Linear": Case(lambda: [Linear(3, _g())], 5, _floats(5)),
    "Bias": Case(lambda: [Linear(3, _g()), Bias(Uniform(-0.5, 0.5))], 5, _floats(5)),
    "Activation": Case(lambda: [Linear(3, _g()), Activation(Tanh())], 5, _floats(5)),
    "BatchNorm": Case(lambda: [Linear(3, _g()), BatchNorm()], 5, _floats(5)),
    "Dropout": Case(
        lambda: [Linear(3, _g()), Dropout(keep=0.5)], 5, _floats(5), "a new random mask each call"
    ),
    # neon's DataTransform is a data step: nothing flows back through it
    "DataTransform": Case(
        lambda: [DataTransform(Normalizer(divisor=4.0)), Linear(2, _g())],
        5,
        _floats(5),
        input_gradient=False,
    ),
    "Reshape": Case(lambda: [Linear(6, _g()), Reshape((2, 3)), Linear(2, _g())], 5, _floats(5)),
    "Convolution": Case(
        lambda: [Convolution((3, 3, 2), init=_g(), padding=1)], (2, 5, 5), _floats(2, 5, 5)
    ),
    "Convolution_bias": Case(
        lambda: [Convolution_bias((3, 3, 2), init=_g(), bias=Constant(0.1))],
        (2, 5, 5),
        _floats(2, 5, 5),
    ),
    "Deconvolution": Case(
        lambda: [Deconvolution((3, 3, 2), init=_g(), strides=2)], (3, 4, 4), _floats(3, 4, 4)
    ),
    "Pooling": Case(
        lambda: [Convolution((3, 3, 2), init=_g()), Pooling(2, op="max")],
        (1, 6, 6),
        _floats(1, 6, 6),
    ),
    "LRN": Case(
        lambda: [Convolution((1, 1, 4), init=_g()), LRN(depth=3)], (2, 3, 3), _floats(2, 3, 3)
    ),
    "BinaryLinear": Case(lambda: [BinaryLinear(3, _g())], 5, _floats(5), STRAIGHT_THROUGH),
    "ShiftBatchNorm": Case(
        lambda: [Linear(3, _g()), ShiftBatchNorm()], 5, _floats(5), STRAIGHT_THROUGH
    ),
    "LookupTable": Case(lambda: [LookupTable(7, 3, _g()), RecurrentSum()], 4, _tokens(7, 4)),
    "Recurrent": Case(
        lambda: [Recurrent(4, _g(), activation=Tanh(), reset_cells=True)], (2, 3), _floats(3, 2)
    ),
    "LSTM": Case(
        lambda: [LSTM(4, _g(), activation=Tanh(), gate_activation=Logistic(), reset_cells=True)],
        (2, 3),
        _floats(3, 2),
    ),
    "GRU": Case(lambda: [_gru()], (2, 3), _floats(3, 2)),
    "BiRNN": Case(lambda: [BiRNN(3, _g(), activation=Tanh())], (2, 3), _floats(3, 2)),
    "BiLSTM": Case(
        lambda: [BiLSTM(3, _g(), activation=Tanh(), gate_activation=Logistic())],
        (2, 3),
        _floats(3, 2),
    ),
    "BiBNRNN": Case(
        lambda: [BiBNRNN(3, _g(), activation=Tanh())],
        (2, 3),
        _floats(3, 2),
        "neon takes the recurrent bias's gradient after the normalisation's backward (about "
        "zero), a quirk kept on purpose",
    ),
    "BiSum": Case(lambda: [BiRNN(3, _g(), activation=Tanh()), BiSum()], (2, 3), _floats(3, 2)),
    "RecurrentSum": Case(lambda: [_gru(), RecurrentSum()], (2, 3), _floats(3, 2)),
    "RecurrentMean": Case(lambda: [_gru(), RecurrentMean()], (2, 3), _floats(3, 2)),
    "RecurrentLast": Case(lambda: [_gru(), RecurrentLast()], (2, 3), _floats(3, 2)),
    "SkipNode": Case(lambda: [Linear(3, _g()), SkipNode(), Activation(Rectlin())], 5, _floats(5)),
    "MergeSum": Case(
        lambda: [MergeSum([[Linear(3, _g())], [Linear(3, _g()), Activation(Tanh())]])],
        5,
        _floats(5),
    ),
    "MergeBroadcast": Case(
        lambda: [MergeBroadcast([[Linear(3, _g())], [Linear(2, _g())]], merge="stack")],
        5,
        _floats(5),
    ),
    "MergeMultistream": Case(
        lambda: [MergeMultistream([[Linear(3, _g())], [Linear(2, _g())]], merge="stack")],
        lambda: ArrayIterator([np.zeros((N, 4)), np.zeros((N, 6))], np.zeros(N), nclass=2),
        _two_streams,
    ),
    "Tree": Case(lambda: _tree(), 5, _floats(5)),
    "SingleOutputTree": Case(lambda: _single_tree(), 5, _floats(5)),
    "Seq2Seq": Case(
        lambda: Seq2Seq([[_gru(3)], [_gru(3), Affine(2, _g(), activation=Tanh())]]),
        (2, 3),
        _seq2seq_inputs,
    ),
}


class _ThreeSentences:
    """What ``Model.initialize`` needs of skip-thought data: three streams of 4 token ids."""

    shape = [(4, 1)] * 3


def _skip_thought() -> SkipThought:
    return SkipThought(
        9,
        3,
        Uniform(-0.1, 0.1),
        4,
        rec_layer=GRU,
        init_rec=_g(),
        activ_rec=Tanh(),
        activ_rec_gate=Logistic(),
        init_ff=Uniform(-0.1, 0.1),
        init_const=Constant(0.0),
    )


def _three_sentences(g: torch.Generator) -> list[torch.Tensor]:
    return [torch.randint(0, 9, (N, 4), generator=g).to(torch.float64) for _ in range(3)]


CASES["SkipThought"] = Case(
    _skip_thought,
    _ThreeSentences,
    _three_sentences,
    "neon averages the tied embeddings' and output layers' gradients every step",
)
# registered types that are parts of the cases above, or have a harness of their own
COVERED_ELSEWHERE = {
    "Sequential": "every model above is one (Model wraps a list of layers in it)",
    "BranchNode": "the Tree and SingleOutputTree cases",
    "Encoder": "the Seq2Seq case",
    "Decoder": "the Seq2Seq case",
    "GenerativeAdversarial": "tests/golden/test_gan.py (a GAN model trained against real neon)",
}


def _layer_types() -> set[str]:
    return {
        cls.__name__
        for cls in {registry.lookup(name) for name in registry.available()}
        if issubclass(cls, Layer)
    }


def test_every_registered_layer_has_a_case() -> None:
    assert _layer_types() == set(CASES) | set(COVERED_ELSEWHERE)


def _model(name: str, dtype: Any = np.float64) -> tuple[Model, Any]:
    case = CASES[name]
    gen_backend("cpu", rng_seed=0, batch_size=N, datatype=dtype)
    model = Model(case.layers())
    shape = case.shape
    model.initialize(shape() if callable(shape) and not hasattr(shape, "shape") else shape)
    x = case.inputs(torch.Generator().manual_seed(1))
    if dtype is np.float32:
        x = [v.float() for v in x] if isinstance(x, list) else x.float()
    return model, x


def _outputs(model: Model, x: Any) -> list[torch.Tensor]:
    y = model.fprop(x, inference=True)
    return [v.detach() for v in (y if isinstance(y, list) else [y])]


def _as_list(y: Any) -> list[torch.Tensor]:
    return y if isinstance(y, list) else [y]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(name: str) -> None:
    case = CASES[name]
    if case.no_gradient:
        pytest.skip(case.no_gradient)
    model, x = _model(name)
    weights = [
        torch.randn(v.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
        for v in _as_list(model.fprop(x))
    ]

    def loss(inputs: Any) -> torch.Tensor:
        outs = _as_list(model.fprop(inputs))
        return sum((o * w).sum() for o, w in zip(outs, weights, strict=True))

    floats = [v for v in _as_list(x) if v.is_floating_point() and name != "LookupTable"]
    floats = floats if case.input_gradient else []
    for v in floats:
        v.requires_grad_(True)
    params = [p for p in model.layers.parameters() if p.requires_grad]
    assert params or floats
    for p in params:
        p.grad = None
    total = loss(x)
    total.backward()
    eps = 1e-6
    pick = torch.Generator().manual_seed(3)
    for tensor in [*params, *floats]:
        grad = tensor.grad
        assert grad is not None, name
        flat = tensor.data.view(-1)
        for i in torch.randint(0, flat.numel(), (4,), generator=pick).tolist():
            old = float(flat[i])
            with torch.no_grad():
                flat[i] = old + eps
                up = float(loss(x))
                flat[i] = old - eps
                down = float(loss(x))
                flat[i] = old
            numeric = (up - down) / (2 * eps)
            assert float(grad.view(-1)[i]) == pytest.approx(numeric, rel=1e-4, abs=1e-6), (name, i)


@pytest.mark.parametrize("name", sorted(CASES))
def test_description_round_trip(name: str) -> None:
    model, x = _model(name, np.float32)
    expected = _outputs(model, x)
    again = Model(model.serialize(keep_states=True))  # neon's description with weights
    got = _outputs(again, x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_prm_round_trip(name: str, tmp_path: Path) -> None:
    model, x = _model(name, np.float32)
    expected = _outputs(model, x)
    path = tmp_path / f"{name}.prm"
    model.save_params(str(path))
    got = _outputs(Model(str(path)), x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
