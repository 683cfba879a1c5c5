"""Plain-torch export of the recurrent layers: each layer's ``to_torch()`` module equals the
layer's inference forward, holds torch's parameter names and layouts, and exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from neon_torch.backends import gen_backend
from neon_torch.convert import modules
from neon_torch.initializers import GlorotUniform, Uniform
from neon_torch.layers import (
    GRU,
    LSTM,
    Affine,
    BiBNRNN,
    BiLSTM,
    BiRNN,
    BiSum,
    LookupTable,
    Recurrent,
    RecurrentLast,
    RecurrentMean,
    RecurrentSum,
    Sequential,
)
from neon_torch.transforms import Logistic, Rectlin, Softmax, Tanh

G = GlorotUniform


def _gated(kind: type, act: Any = Tanh, gate: Any = Logistic, **kw: Any) -> Callable[[], Any]:
    return lambda: kind(7, G(), activation=act(), gate_activation=gate(), **kw)


def _elman(kind: type, act: Any = Tanh, **kw: Any) -> Callable[[], Any]:
    return lambda: kind(7, G(), activation=act(), **kw)


SEQ, IMAGE = (6, 5), (2, 3, 4)
#: name -> (layer factory, per-sample input shape, expected plain module type)
LAYERS: dict[str, tuple[Callable[[], Any], Any, type]] = {
    "rnn_tanh": (_elman(Recurrent), SEQ, modules.SequenceRNN),
    "rnn_relu": (_elman(Recurrent, Rectlin), SEQ, modules.SequenceRNN),
    "rnn_logistic": (_elman(Recurrent, Logistic), SEQ, modules.NeonRNN),
    "lstm": (_gated(LSTM), SEQ, modules.SequenceLSTM),
    "lstm_swapped": (_gated(LSTM, Logistic, Tanh), SEQ, modules.NeonLSTM),
    "lstm_one_step": (_gated(LSTM), 6, modules.SequenceLSTM),
    "lstm_image": (_gated(LSTM), IMAGE, modules.SequenceLSTM),
    "gru": (_gated(GRU), SEQ, modules.NeonGRU),
    "gru_image": (_gated(GRU), IMAGE, modules.NeonGRU),
    "birnn": (_elman(BiRNN), SEQ, modules.SequenceRNN),
    "birnn_split": (_elman(BiRNN, Rectlin, split_inputs=True), SEQ, modules.SequenceRNN),
    "birnn_logistic_split": (_elman(BiRNN, Logistic, split_inputs=True), SEQ, modules.NeonRNN),
    "bilstm": (_gated(BiLSTM), SEQ, modules.SequenceLSTM),
    "bilstm_split": (_gated(BiLSTM, split_inputs=True), SEQ, modules.SequenceLSTM),
    "bilstm_swapped": (_gated(BiLSTM, Logistic, Tanh), SEQ, modules.NeonLSTM),
    "bibnrnn": (_elman(BiBNRNN), SEQ, modules.SequenceRNN),
    "bisum": (BiSum, SEQ, modules.HalfSum),
    "sum": (RecurrentSum, SEQ, modules.TimeSum),
    "mean": (RecurrentMean, SEQ, modules.TimeMean),
    "last": (RecurrentLast, SEQ, modules.TimeLast),
    "last_image": (RecurrentLast, IMAGE, modules.TimeLast),
}


def _randomize(layer: Any, seed: int) -> None:
    """Non-zero values in every parameter and buffer (neon's biases start at 0)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*layer.named_parameters(), *layer.named_buffers()]:
            values = torch.rand(t.shape, generator=gen)
            t.copy_(values + 0.5 if name == "gvar" else values - 0.5)


def _input(shape: Any, n: int = 4, seed: int = 1) -> torch.Tensor:
    dims = (shape,) if isinstance(shape, int) else shape
    if len(dims) == 2:  # sequences are batch-first (N, T, F)
        dims = (dims[1], dims[0])
    return torch.randn(n, *dims, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_plain_module_equals_the_layers_inference_forward(name: str) -> None:
    gen_backend(rng_seed=0)
    factory, shape, kind = LAYERS[name]
    layer = factory()
    layer.configure(shape)
    layer.allocate()
    _randomize(layer, seed=3)
    x = _input(shape)
    layer.fprop(x, inference=True)  # leaves a carried state, if the layer keeps one
    if hasattr(layer, "reset_state"):
        layer.reset_state()
    expected = layer.fprop(x, inference=True)
    plain = layer.to_torch()
    assert type(plain) is kind
    assert not any(p is q for p in plain.parameters() for q in layer.parameters())  # copies
    with torch.no_grad():
        torch.testing.assert_close(plain(x), expected, rtol=1e-5, atol=1e-6)


def _built(layer: Any, shape: Any = (6, 5)) -> Any:
    layer.configure(shape)
    layer.allocate()
    _randomize(layer, seed=5)
    return layer


def test_state_dict_keys_and_layouts_are_torchs() -> None:
    gen_backend(rng_seed=0)
    lstm = _built(_gated(LSTM)())
    state = lstm.to_torch().state_dict()
    assert list(state) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    w = lstm.W.detach()  # neon rows: 6 input, 7 recurrent, 1 bias; columns i, f, o, g
    for key, rows in (("weight_ih_l0", w[:6]), ("weight_hh_l0", w[6:13])):
        neon = rows.reshape(28, -1)  # gate k = rows [7k, 7k + 7)
        torch_order = torch.cat([neon[:14], neon[21:], neon[14:21]])  # i, f, g, o
        torch.testing.assert_close(state[key], torch_order, rtol=0, atol=0)
    assert torch.equal(state["bias_ih_l0"][14:21], w[13, 21:])  # g's bias
    assert not state["bias_hh_l0"].any()

    bilstm = _built(_gated(BiLSTM)())
    keys = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert list(bilstm.to_torch().state_dict()) == keys + [k + "_reverse" for k in keys]
    gru = _built(_gated(GRU)())
    assert {k: tuple(v.shape) for k, v in gru.to_torch().state_dict().items()} == {
        "weight_ih": (21, 6),
        "weight_hh": (21, 7),
        "bias": (21,),
    }
    table = _built(LookupTable(20, 8, Uniform(-0.5, 0.5), pad_idx=0), 5)
    embedding = table.to_torch()
    assert isinstance(embedding, nn.Embedding) and list(embedding.state_dict()) == ["weight"]
    assert torch.equal(embedding.weight, table.weight)


def test_split_inputs_weights_are_zero_on_the_other_half() -> None:
    gen_backend(rng_seed=0)
    state = _built(_elman(BiRNN, split_inputs=True)()).to_torch().state_dict()
    assert state["weight_ih_l0"].shape == (7, 6)
    assert not state["weight_ih_l0"][:, 3:].any() and state["weight_ih_l0"][:, :3].all()
    assert not state["weight_ih_l0_reverse"][:, :3].any()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_custom_lstm_state_dict_loads_into_nn_lstm(bidirectional: bool) -> None:
    """NeonLSTM has nn.LSTM's names and layout: with Tanh/Sigmoid both compute the same."""
    custom = modules.NeonLSTM(6, 7, nn.Tanh(), nn.Sigmoid(), bidirectional=bidirectional)
    with torch.no_grad():
        for p in custom.parameters():
            p.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(p.numel()))
    reference = nn.LSTM(6, 7, batch_first=True, bidirectional=bidirectional)
    reference.load_state_dict(custom.state_dict())
    x = _input((6, 5))
    with torch.no_grad():
        torch.testing.assert_close(custom(x), reference(x)[0], rtol=1e-5, atol=1e-6)


def test_plain_module_is_stateless_unlike_a_stateful_layer() -> None:
    gen_backend(rng_seed=0)
    layer = _built(_gated(LSTM)())
    x1, x2 = _input((6, 5), seed=1), _input((6, 5), seed=2)
    plain = layer.to_torch()
    layer.fprop(x1, inference=True)
    carried = layer.fprop(x2, inference=True)  # starts from x1's last state
    layer.reset_state()
    fresh = layer.fprop(x2, inference=True)
    with torch.no_grad():
        y = plain(x2)
    torch.testing.assert_close(y, fresh, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(y, carried, atol=1e-3)


def _classifier(recurrent: list[Any]) -> Sequential:
    table = LookupTable(20, 8, Uniform(-0.5, 0.5))
    head = Affine(2, G(), bias=Uniform(-0.5, 0.5), activation=Softmax())
    model = Sequential([table, *recurrent, head])
    model.configure(5)
    model.allocate()
    _randomize(model, seed=7)
    return model


@pytest.mark.parametrize(
    "recurrent",
    [
        lambda: [LSTM(16, G(), activation=Tanh(), gate_activation=Logistic()), RecurrentSum()],
        lambda: [
            GRU(8, G(), activation=Tanh(), gate_activation=Logistic()),
            BiLSTM(8, G(), activation=Logistic(), gate_activation=Tanh()),
            RecurrentLast(),
        ],
    ],
    ids=["lstm", "gru_bilstm_custom"],
)
def test_torch_export_of_a_recurrent_model(recurrent: Callable[[], list[Any]]) -> None:
    gen_backend(rng_seed=0)
    model = _classifier(recurrent())
    ids = torch.randint(0, 20, (4, 5), generator=torch.Generator().manual_seed(0))
    expected = model.fprop(ids.float(), inference=True)
    plain = model.to_torch().eval()
    program = torch.export.export(plain, (ids.float(),))
    assert set(program.state_dict) == set(plain.state_dict())
    torch.testing.assert_close(program.module()(ids.float()), expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(plain(ids), expected, rtol=1e-5, atol=1e-6)  # int ids too
