"""Recurrent layers, LookupTable and Text: paths, state, layouts and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.backends.tensor import as_torch
from neon_torch.data import ArrayIterator, Text, VocabularyError
from neon_torch.errors import LayerConfigError, ShapeMismatchError
from neon_torch.initializers import Constant, GlorotUniform, Uniform
from neon_torch.layers import (
    GRU,
    LSTM,
    Affine,
    BiBNRNN,
    BiLSTM,
    BiRNN,
    BiSum,
    DeepBiLSTM,
    DeepBiRNN,
    GeneralizedCost,
    LookupTable,
    Recurrent,
    RecurrentLast,
    RecurrentMean,
    RecurrentSum,
    TokenIdError,
)
from neon_torch.layout import lstm_gates_to_torch, recurrent_w_views
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import (
    CrossEntropyMulti,
    Logistic,
    Misclassification,
    Rectlin,
    Softmax,
    Tanh,
)

TEXT = "the quick brown fox jumps over the lazy dog. " * 8


def _layer(layer, nin: int = 6, steps: int = 5):
    layer.configure((nin, steps))
    layer.allocate()
    return layer


def _seq(n: int = 4, steps: int = 5, nin: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, steps, nin, generator=torch.Generator().manual_seed(seed))


def _grads(layer, x: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    layer.W.grad = None
    y = layer(x)
    (y * weight).sum().backward()
    return y.detach(), layer.W.grad.clone()


@pytest.mark.parametrize("stateful", [False, True])
def test_fused_lstm_equals_the_step_by_step_path(stateful: bool) -> None:
    gen_backend(rng_seed=0)
    layer = _layer(LSTM(7, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()))
    with torch.no_grad():
        layer.W[-1] = torch.linspace(-0.5, 0.5, 28)  # a non-zero bias tests its gate order
    x1, x2, weight = _seq(seed=1), _seq(seed=2), torch.randn(4, 5, 7)
    results = []
    for fused in (True, False):
        layer.fused = fused
        layer.reset_state()
        if stateful:
            layer(x1)  # leaves a carried state for the next call
        results.append(_grads(layer, x2, weight))
    (y_fast, g_fast), (y_ref, g_ref) = results
    torch.testing.assert_close(y_fast, y_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.cuda
def test_fused_lstm_on_cuda_equals_the_cpu_step_by_step_path() -> None:
    gen_backend("gpu", rng_seed=0)
    layer = _layer(LSTM(7, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()))
    x1, x2, weight = _seq(seed=1), _seq(seed=2), torch.randn(4, 5, 7)
    layer(x1.cuda())  # a carried state: step 0 by hand, the rest in cuDNN
    y_gpu, g_gpu = _grads(layer, x2.cuda(), weight.cuda())
    layer.cpu().fused = False
    layer.reset_state()
    layer(x1)
    y_cpu, g_cpu = _grads(layer, x2, weight)
    torch.testing.assert_close(y_gpu.cpu(), y_cpu, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g_gpu.cpu(), g_cpu, rtol=1e-4, atol=1e-4)


def test_bilstm_fused_equals_step_by_step() -> None:
    gen_backend(rng_seed=0)
    layer = _layer(BiLSTM(5, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()))
    x, weight = _seq(), torch.randn(4, 5, 10)
    layer.fused = True
    y_fast, g_fast = _grads(layer, x, weight)
    layer.fused = False
    y_ref, g_ref = _grads(layer, x, weight)
    torch.testing.assert_close(y_fast, y_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-5)


def _numpy_lstm(w: np.ndarray, x: np.ndarray, h: np.ndarray, c: np.ndarray, act, gate):
    """neon's equations written out with numpy, gates i, f, o, g."""
    nin, n = x.shape[-1], h.shape[-1]
    w_in, w_rec, b = recurrent_w_views(w, nin, n, 4)[0]
    outs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w_in.T + h @ w_rec.T + b
        i, f, o = (gate(a[:, k * n : (k + 1) * n]) for k in range(3))
        g = act(a[:, 3 * n :])
        c = f * c + i * g
        h = o * act(c)
        outs.append(h)
    return np.stack(outs, 1)


def test_lstm_with_swapped_activations_follows_neons_equations() -> None:
    """neon's text_generation example swaps them: activation=Logistic, gate_activation=Tanh."""
    gen_backend(rng_seed=0)
    layer = _layer(LSTM(3, GlorotUniform(), activation=Logistic(), gate_activation=Tanh()))
    x = _seq()
    y = layer(x).detach().numpy()
    w = layer.neon_params()["W"]
    zeros = np.zeros((4, 3), np.float32)

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    expected = _numpy_lstm(w, x.numpy(), zeros, zeros, sigmoid, np.tanh)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_state_is_carried_unless_reset_cells() -> None:
    gen_backend(rng_seed=0)
    stateful = _layer(GRU(4, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()))
    stateless = _layer(
        GRU(4, GlorotUniform(), activation=Tanh(), gate_activation=Logistic(), reset_cells=True)
    )
    stateless.set_neon_params(stateful.neon_params())
    x = _seq(nin=6)
    first = stateful(x)
    torch.testing.assert_close(first, stateless(x))
    assert not torch.allclose(stateful(x), first)  # starts from the carried h
    torch.testing.assert_close(stateless(x), first)  # reset_cells: always from zeros
    stateful.reset_state()
    torch.testing.assert_close(stateful(x), first)


def test_truncated_backprop_ignores_the_carried_state() -> None:
    """neon: the carried state is a constant and step 0 adds nothing to dW_recur."""
    gen_backend(rng_seed=0)
    layer = _layer(Recurrent(4, GlorotUniform(), activation=Tanh()), steps=1)
    x = _seq(steps=1)
    layer(x)  # carried state for the next call
    y = layer(x)
    y.sum().backward()
    _, w_rec_grad, _ = recurrent_w_views(layer.W.grad, 6, 4, 1)[0]
    assert torch.count_nonzero(w_rec_grad) == 0


def test_gru_truncated_backprop_at_step_zero_is_neons() -> None:
    """neon's GRU backward at step 0 uses h_prev = 0: no reset-gate or dW_recur term, and the
    update gate's error is delta·h̃ (not delta·(h̃ - h_prev))."""
    gen_backend(rng_seed=0)
    layer = _layer(GRU(3, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()), steps=1)
    x, weight = _seq(steps=1), torch.randn(4, 1, 3)
    layer(_seq(steps=1, seed=5))
    h_prev = layer._state[0].clone()  # the state the next call starts from
    _, grad = _grads(layer, x, weight)
    w_in, w_rec, b = (t.detach() for t in layer.weights()[0])
    a = x[:, 0] @ w_in.T + b
    rz = torch.sigmoid(a[:, :6] + h_prev @ w_rec[:6].T)
    r, z = rz[:, :3], rz[:, 3:]
    h_can = torch.tanh(a[:, 6:] + (r * h_prev) @ w_rec[6:].T)
    delta = weight[:, 0]
    d_h = (1 - h_can**2) * delta * z
    d_z = z * (1 - z) * delta * h_can
    d_gates = torch.cat([torch.zeros_like(d_z), d_z, d_h], dim=1)
    w_in_grad, w_rec_grad, b_grad = recurrent_w_views(grad, 6, 3, 3)[0]
    torch.testing.assert_close(w_in_grad, d_gates.T @ x[:, 0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b_grad, d_gates.sum(0), rtol=1e-5, atol=1e-6)
    assert torch.count_nonzero(w_rec_grad) == 0


def test_packed_weight_layout_and_gate_reorder() -> None:
    w = np.arange((2 + 2 + 1) * 8, dtype=np.float32).reshape(5, 8)  # LSTM(2) on 2 inputs
    w_in, w_rec, b = recurrent_w_views(w, 2, 2, 4)[0]
    np.testing.assert_array_equal(w_in, w[:2].reshape(8, 2))  # a reshape, not a transpose
    np.testing.assert_array_equal(w_rec, w[2:4].reshape(8, 2))
    np.testing.assert_array_equal(b, w[4])
    rows = torch.arange(8.0)
    assert lstm_gates_to_torch(rows).tolist() == [0, 1, 2, 3, 6, 7, 4, 5]  # i f o g -> i f g o


def test_bidirectional_layout_and_split_inputs() -> None:
    gen_backend(rng_seed=0)
    layer = _layer(BiRNN(3, GlorotUniform(), activation=Tanh(), split_inputs=True), nin=4)
    assert layer.neon_params()["W"].shape == (2 * (2 + 3 + 1), 3)
    x = _seq(nin=4)
    y = layer(x)
    assert y.shape == (4, 5, 6)
    _, (wb, rb, bb) = layer.weights()
    h = torch.zeros(4, 3)
    for t in reversed(range(5)):  # the backward direction reads features [2:] from the end
        h = torch.tanh(x[:, t, 2:] @ wb.T + h @ rb.T + bb)
        torch.testing.assert_close(y[:, t, 3:], h, rtol=1e-5, atol=1e-6)
    with pytest.raises(LayerConfigError, match="even number"):
        BiRNN(3, GlorotUniform(), activation=Tanh(), split_inputs=True).configure((5, 2))


def test_deep_bidirectional_lists() -> None:
    gen_backend(rng_seed=0)
    deep = DeepBiLSTM(4, GlorotUniform(), activation=Tanh(), gate_activation=Logistic(), depth=3)
    assert [layer.split_inputs for layer in deep] == [False, True, True]
    summed = DeepBiRNN(4, GlorotUniform(), activation=Tanh(), depth=2, bi_sum=True)
    assert [type(layer) for layer in summed] == [BiRNN, BiSum, BiRNN, BiSum]
    assert not summed[2].split_inputs
    model = Model([*summed, RecurrentSum()])
    model.initialize((6, 5))
    assert model.fprop(_seq()).shape == (4, 4)
    with pytest.raises(LayerConfigError, match="depth"):
        DeepBiLSTM(4, GlorotUniform(), activation=Tanh(), gate_activation=Logistic(), depth=0)


def test_bibnrnn_trains_and_describes_like_neon() -> None:
    gen_backend(rng_seed=0, batch_size=4)
    layer = _layer(BiBNRNN(3, GlorotUniform(), activation=Rectlin()))
    with torch.no_grad():
        layer.W[-2:] = torch.tensor([[0.1, -0.2, 0.3], [0.2, 0.1, -0.1]])
    x = _seq()
    layer.train()
    y = layer(x)
    (wf, rf, bf), (wb, rb, bb) = layer.weights()
    proj = torch.cat([x @ wf.T, x @ wb.T], -1).detach()
    flat = proj.reshape(-1, 6)
    normed = (proj - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-3)
    h_f, h_b = torch.zeros(4, 3), torch.zeros(4, 3)
    for t in range(5):  # forward direction, then the backward one from the last step
        h_f = torch.relu(normed[:, t, :3] + h_f @ rf.T + bf)
        torch.testing.assert_close(y[:, t, :3], h_f, rtol=1e-5, atol=1e-6)
        s = 4 - t
        h_b = torch.relu(normed[:, s, 3:] + h_b @ rb.T + bb)
        torch.testing.assert_close(y[:, s, 3:], h_b, rtol=1e-5, atol=1e-6)
    (y * torch.randn(y.shape)).sum().backward()
    assert [tuple(p.shape) for p in layer.optimized_parameters()] == [(2 * 10, 3), (6,), (6,)]
    assert torch.allclose(layer.W.grad[-2:], torch.zeros(2, 3), atol=1e-4)  # neon's bias quirk
    assert torch.count_nonzero(layer.gmean) == 6  # running statistics moved
    assert sorted(layer.neon_params()) == ["W", "gmean", "gvar"]
    layer.eval()
    assert layer(x).shape == (4, 5, 6)


def test_bibnrnn_get_params_lists_w_beta_gamma_as_neon() -> None:
    # neon's BiBNRNN.get_params is [(W, dW), (beta, grad_beta), (gamma, grad_gamma)] with the
    # vectors as (F, 1) columns; beta and gamma are not in its files but are optimized
    gen_backend(rng_seed=0, batch_size=4)
    layer = _layer(BiBNRNN(3, GlorotUniform(), activation=Rectlin()))
    layer(_seq()).sum().backward()
    params = layer.get_params()
    assert [tuple(w.shape) for (w, _), _ in params] == [(2 * 10, 3), (6, 1), (6, 1)]
    assert all(dw is not None for (_, dw), _ in params)
    (_, _), (beta, _), (gamma, grad_gamma) = (p for p, _ in params)
    beta[:] = 0.5  # a view: writes reach the torch parameters
    assert torch.all(layer.beta == 0.5)
    torch.testing.assert_close(as_torch(gamma).reshape(-1), layer.gamma.detach())
    torch.testing.assert_close(as_torch(grad_gamma).reshape(-1), layer.gamma.grad)


def test_recurrent_outputs_collapse_time() -> None:
    x = _seq(nin=3)
    for layer, expected in (
        (RecurrentSum(), x.sum(1)),
        (RecurrentMean(), x.mean(1)),
        (RecurrentLast(), x[:, -1]),
    ):
        layer.configure((3, 5))
        assert layer.name == type(layer).__name__ and layer.out_shape == 3
        torch.testing.assert_close(layer(x), expected)


def test_recurrent_reads_images_as_width_steps() -> None:
    """neon reads a (C, H, W) input as C·H features over W steps."""
    gen_backend(rng_seed=0)
    layer = Recurrent(2, GlorotUniform(), activation=Tanh())
    layer.configure((2, 3, 4))
    layer.allocate()
    assert (layer.nin, layer.nsteps, layer.out_shape) == (6, 4, (2, 4))
    assert layer(torch.randn(5, 2, 3, 4)).shape == (5, 4, 2)


def test_lookup_table_pad_idx_update_and_bad_ids() -> None:
    gen_backend(rng_seed=0)
    table = LookupTable(10, 3, Uniform(-1, 1), pad_idx=0)
    table.configure(4)
    table.allocate()
    assert torch.count_nonzero(table.weight[0]) == 0
    ids = torch.tensor([[0.0, 1.9, 2.0, 9.0]])  # floats are truncated, as neon does
    y = table(ids)
    torch.testing.assert_close(y[0, 1], table.weight[1])
    y.sum().backward()
    assert torch.count_nonzero(table.weight.grad[0]) == 0  # the pad row never learns
    assert table.weight.grad[1].sum() == 3 * 1.0
    frozen = LookupTable(10, 3, Uniform(-1, 1), update=False)
    frozen.configure(4)
    frozen.allocate()
    assert not frozen(ids).requires_grad  # no gradient (zeros for the optimizer)...
    assert frozen in Model([frozen]).layers_to_optimize  # ...but still optimized, as in neon
    with pytest.raises(TokenIdError, match=r"outside \[0, 9\].*10"):
        table(torch.tensor([[1, 2, 3, 10]]))
    with pytest.raises(TokenIdError):
        table(torch.tensor([[-1, 2, 3, 4]]))
    with pytest.raises(ShapeMismatchError, match="4 token ids"):
        table(torch.tensor([[1, 2, 3]]))


def test_wrong_sequence_length_is_a_clear_error() -> None:
    gen_backend(rng_seed=0, batch_size=4)
    model = Model(
        [
            LookupTable(20, 4, Uniform(-0.5, 0.5)),
            LSTM(5, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()),
            RecurrentSum(),
            Affine(2, GlorotUniform(), bias=Constant(0), activation=Softmax()),
        ]
    )
    model.initialize(6)
    with pytest.raises(ShapeMismatchError, match="initialized for samples of shape 6"):
        model.fprop(torch.zeros(4, 7))
    lstm = model.layers.layers[1]
    with pytest.raises(ShapeMismatchError, match="6 steps"):
        lstm(torch.zeros(4, 5, 4))


def test_missing_activations_are_config_errors() -> None:
    with pytest.raises(LayerConfigError, match="activation is required"):
        Recurrent(4, GlorotUniform())
    with pytest.raises(LayerConfigError, match="gate_activation is required"):
        LSTM(4, GlorotUniform(), activation=Tanh())


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "text.txt"
    path.write_text(text)
    return str(path)


def test_text_layout_targets_and_token_ids(tmp_path: Path) -> None:
    gen_backend(rng_seed=0, batch_size=2)
    path = _write(tmp_path, "abcdefghijkl")  # 12 chars: 2 rows x 2 batches x 3 steps
    data = Text(3, path)
    assert (data.nbatches, data.ndata, data.shape, data.vocab) == (
        2,
        4,
        (12, 3),
        list("abcdefghijkl"),
    )
    batches = list(data)
    x0 = batches[0][0].argmax(-1).tolist()
    assert x0 == [[0, 1, 2], [6, 7, 8]]  # row n holds the n-th contiguous chunk
    assert batches[1][0].argmax(-1).tolist() == [[3, 4, 5], [9, 10, 11]]
    assert batches[1][1].argmax(-1).tolist() == [[4, 5, 6], [10, 11, 0]]  # cyclic next token
    ids = Text(3, path, onehot_input=False)
    assert ids.shape == (3, 1)
    x, t = next(iter(ids))
    assert x.shape == (2, 1, 3) and x[1].tolist() == [[6, 7, 8]]
    reverse = Text(3, path, reverse_target=True)
    assert next(iter(reverse))[1].argmax(-1).tolist() == [[2, 1, 0], [8, 7, 6]]
    assert reverse.y[0, 0].tolist() == [0, 1, 2]  # neon keeps y in reading order
    (x, z), t = next(iter(Text(3, path, get_prev_target=True)))
    assert z[:, 0].sum() == 0 and torch.equal(z[:, 1:], t[:, :-1])


def test_text_create_valid_file(tmp_path: Path) -> None:
    train, valid = Text.create_valid_file(_write(tmp_path, "0123456789"), valid_split=0.3)
    assert train.endswith("text_train.txt") and valid.endswith("text_valid.txt")
    assert (Path(train).read_text(), Path(valid).read_text()) == ("0123456", "789")


def test_text_bad_input(tmp_path: Path) -> None:
    gen_backend(rng_seed=0, batch_size=4)
    path = _write(tmp_path, "abcdefgh")
    with pytest.raises(ShapeMismatchError, match="8 tokens are fewer than one minibatch"):
        Text(3, path)
    with pytest.raises(VocabularyError, match="'h'"):
        Text(2, path, vocab=list("abcdefg"))


def test_text_lookup_table_lstm_trains_and_evaluates_per_step(tmp_path: Path) -> None:
    gen_backend(rng_seed=0, batch_size=4)
    train = Text(5, _write(tmp_path, TEXT), onehot_input=False)
    model = Model(
        [
            LookupTable(len(train.vocab), 8, Uniform(-0.5, 0.5)),
            LSTM(16, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()),
            Affine(len(train.vocab), GlorotUniform(), bias=Constant(0), activation=Softmax()),
        ]
    )
    cost = GeneralizedCost(CrossEntropyMulti())
    model.fit(train, cost, GradientDescentMomentum(0.5, 0.9), 2, None)
    outputs = model.get_outputs(train)
    assert outputs.shape == (train.ndata, 5, len(train.vocab))
    error = model.eval(train, Misclassification(steps=5))
    assert error.shape == (1,) and error[0] < 0.9
    with pytest.raises(ShapeMismatchError, match=r"Misclassification\(steps=5\)"):
        model.eval(train, Misclassification())


def test_state_resets_when_a_data_reading_layer_switches_dataset(tmp_path: Path) -> None:
    gen_backend(rng_seed=0, batch_size=2)
    path = _write(tmp_path, TEXT)
    first, second = Text(5, path), Text(5, path)
    lstm = LSTM(4, GlorotUniform(), activation=Tanh(), gate_activation=Logistic())
    model = Model([lstm])
    model.initialize(first)
    x1 = next(iter(first))[0]
    baseline = model.fprop(x1, inference=True)
    assert not torch.allclose(model.fprop(x1, inference=True), baseline)  # carried
    x2 = next(iter(second))[0]
    torch.testing.assert_close(model.fprop(x2, inference=True), baseline)  # new source: reset


def test_get_outputs_and_descriptions_of_an_array_fed_model() -> None:
    gen_backend(rng_seed=0, batch_size=4)
    X = np.random.RandomState(0).randint(0, 10, size=(8, 3)).astype(np.float32)
    data = ArrayIterator(X, np.arange(8) % 2, nclass=2)
    model = Model(
        [
            LookupTable(10, 4, Uniform(-0.5, 0.5)),
            GRU(5, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()),
            RecurrentLast(),
            Affine(2, GlorotUniform(), bias=Constant(0), activation=Softmax()),
        ]
    )
    assert model.get_outputs(data).shape == (8, 2)
    desc = model.get_description(get_weights=True)["model"]["config"]["layers"]
    assert desc[1]["type"] == "neon.layers.recurrent.GRU"
    assert sorted(desc[1]["config"]) == [
        "activation",
        "gate_activation",
        "init",
        "name",
        "output_size",
    ]
    assert desc[1]["params"]["W"].shape == (4 + 5 + 1, 15)
    assert desc[2] == {
        "type": "neon.layers.recurrent.RecurrentLast",
        "config": {"name": "RecurrentLast"},
    }


def test_stateful_outputs_over_a_wrapped_last_batch() -> None:
    """The wrapped last batch (samples 4, 5, 0, 1) is a full batch continuing the state."""
    gen_backend(rng_seed=0, batch_size=4)
    X = np.random.RandomState(1).randint(0, 10, size=(6, 3)).astype(np.float32)
    data = ArrayIterator(X, np.arange(6) % 2, nclass=2)
    layers = [
        LookupTable(10, 4, Uniform(-0.5, 0.5)),
        LSTM(5, GlorotUniform(), activation=Tanh(), gate_activation=Logistic()),
    ]
    model = Model(layers)
    outputs = model.get_outputs(data)
    assert outputs.shape == (6, 3, 5)
    layers[1].reset_state()
    model.fprop(torch.as_tensor(X[:4]), inference=True)
    wrapped = model.fprop(torch.as_tensor(X[[4, 5, 0, 1]]), inference=True)
    np.testing.assert_allclose(outputs[4:], wrapped[:2].numpy(), rtol=1e-6)
