"""``neon_torch.layout``: every conversion against neon's index rules written out by hand, and
every pair of conversions as a round trip (numpy and torch alike)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch import layout

RNG = np.random.default_rng(0)
SHAPES = [5, (2, 3, 4), (3, 4), (2, 2, 3, 3)]


def _both(a: np.ndarray) -> list:
    return [a, torch.from_numpy(a.copy())]


@pytest.mark.parametrize("shape", SHAPES)
def test_neon_buffer_round_trips(shape: object) -> None:
    n = 3
    rows = layout.neon_rows(shape)
    cols = n * (shape[1] if layout.is_sequence_shape(shape) else 1)
    for x in _both(RNG.standard_normal((rows, cols)).astype(np.float32)):
        back = layout.batch_first_to_neon(layout.neon_to_batch_first(x, shape), shape)
        assert type(back) is type(x) and tuple(back.shape) == (rows, cols)
        assert (np.asarray(back) == np.asarray(x)).all()


def test_image_buffer_rows_are_c_h_w_flattened() -> None:
    c, h, w, n = 2, 3, 4, 5
    x = RNG.standard_normal((c * h * w, n))
    y = layout.neon_to_batch_first(x, (c, h, w))
    assert y.shape == (n, c, h, w)
    for ci, hi, wi, ni in [(0, 0, 0, 0), (1, 2, 3, 4), (1, 0, 2, 3), (0, 1, 1, 1)]:
        assert y[ni, ci, hi, wi] == x[ci * h * w + hi * w + wi, ni]


def test_sequence_buffer_columns_are_time_major() -> None:
    f, t, n = 2, 4, 3
    x = RNG.standard_normal((f, t * n))
    y = layout.neon_to_batch_first(x, (f, t))
    assert y.shape == (n, t, f)
    for fi in range(f):
        for ti in range(t):
            for ni in range(n):
                assert y[ni, ti, fi] == x[fi, ti * n + ni]


def test_a_buffer_of_another_shape_is_read_as_features_by_batch() -> None:
    x = np.arange(12.0).reshape(3, 2, 2)  # neon reads the memory as (12, 1)
    assert (layout.neon_to_batch_first(x, (3, 2, 2))[0] == x).all()


def test_conv_weight_rows_are_c_r_s_flattened_and_round_trip() -> None:
    cin, r, s, k = 3, 2, 5, 4
    w = RNG.standard_normal((cin * r * s, k)).astype(np.float32)
    for neon in _both(w):
        torch_w = layout.conv_w_to_torch(neon, (r, s), k)
        assert tuple(torch_w.shape) == (k, cin, r, s)
        for ci, ri, si, ki in [(0, 0, 0, 0), (2, 1, 4, 3), (1, 0, 3, 2)]:
            assert torch_w[ki, ci, ri, si] == neon[(ci * r + ri) * s + si, ki]
        assert (np.asarray(layout.conv_w_from_torch(torch_w)) == np.asarray(neon)).all()


def test_3d_conv_weight_round_trips() -> None:
    w = RNG.standard_normal((2 * 3 * 3 * 3, 4))
    torch_w = layout.conv_w_to_torch(w, (3, 3, 3), 4)
    assert torch_w.shape == (4, 2, 3, 3, 3)
    assert torch_w[3, 1, 2, 0, 1] == w[((1 * 3 + 2) * 3 + 0) * 3 + 1, 3]
    assert (layout.conv_w_from_torch(torch_w) == w).all()


def test_vectors_columns_and_linear_weights_round_trip() -> None:
    v = RNG.standard_normal(6)
    assert layout.vector_to_column(v).shape == (6, 1)
    assert (layout.column_to_vector(layout.vector_to_column(v)) == v).all()
    w = RNG.standard_normal((4, 7))  # neon's Linear W is (nout, nin): nn.Linear's own layout
    assert layout.linear_w_to_torch(w) is w and layout.linear_w_from_torch(w) is w


@pytest.mark.parametrize("shape", SHAPES)
def test_sample_order_round_trips(shape: object) -> None:
    dims = layout.batch_first_sample_dims(shape)
    x = torch.from_numpy(RNG.standard_normal((2, *dims)))
    neon_order = layout.to_neon_sample_order(x, shape)
    expected = (shape,) if isinstance(shape, int) else tuple(shape)
    assert tuple(neon_order.shape[1:]) == expected
    assert torch.equal(layout.from_neon_sample_order(neon_order, shape), x)


def test_batch_first_sample_dims() -> None:
    assert layout.batch_first_sample_dims(7) == (7,)
    assert layout.batch_first_sample_dims((3, 5)) == (5, 3)  # (F, T) -> (T, F)
    assert layout.batch_first_sample_dims((3, 8, 8)) == (3, 8, 8)


def test_recurrent_views_follow_neons_packing_and_share_memory() -> None:
    nin, nout, gates, dirs = 3, 2, 4, 2
    w = torch.arange(dirs * (nin + nout + 1) * gates * nout, dtype=torch.float32)
    w = w.reshape(dirs * (nin + nout + 1), gates * nout)
    views = layout.recurrent_w_views(w, nin, nout, gates, dirs)
    for d, (w_in, w_rec, b) in enumerate(views):
        assert w_in.shape == (gates * nout, nin) and w_rec.shape == (gates * nout, nout)
        # C-order reinterpretation of each row block, not a transpose
        assert torch.equal(w_in.reshape(-1), w[d * nin : (d + 1) * nin].reshape(-1))
        rec0 = dirs * nin + d * nout
        assert torch.equal(w_rec.reshape(-1), w[rec0 : rec0 + nout].reshape(-1))
        assert torch.equal(b, w[dirs * (nin + nout) + d])
        assert w_in.data_ptr() >= w.data_ptr()  # a view into w's storage
    views[1][2][0] = -1.0
    assert w[dirs * (nin + nout) + 1, 0] == -1.0


def test_lstm_gates_go_from_ifog_to_ifgo() -> None:
    n = 2
    w = torch.cat([torch.full((n, 3), float(g)) for g in range(4)])  # rows: i=0 f=1 o=2 g=3
    out = layout.lstm_gates_to_torch(w)
    assert [int(out[k * n, 0]) for k in range(4)] == [0, 1, 3, 2]


def test_recurrent_torch_gates_split_inputs_zero_the_other_half() -> None:
    nin, nout = 4, 3
    w = torch.randn(2 * (nin // 2 + nout + 1), 3 * nout, generator=torch.Generator().manual_seed(0))
    (ih_f, _, _), (ih_b, _, _) = layout.recurrent_w_to_torch_gates(
        w, nin, nout, 3, directions=2, split_inputs=True
    )
    assert ih_f.shape == (3 * nout, nin)
    assert torch.all(ih_f[:, nin // 2 :] == 0) and torch.all(ih_b[:, : nin // 2] == 0)
    views = layout.recurrent_w_views(w, nin // 2, nout, 3, 2)
    assert torch.equal(ih_b[:, nin // 2 :], views[1][0])


def test_as_sequence_reads_images_as_neons_recurrent_layers_do() -> None:
    c, h, w, n = 2, 3, 4, 2
    x = torch.from_numpy(RNG.standard_normal((n, c, h, w)))
    seq = layout.as_sequence(x, (c, h, w))
    assert seq.shape == (n, w, c * h)  # C·H features over W steps
    buf = layout.batch_first_to_neon(x, (c, h, w))  # (C·H·W, N)
    for ni, ti, fi in [(0, 0, 0), (1, 3, 5), (1, 2, 4)]:
        # neon's recurrent layer reads its buffer as (C·H, W·N): feature fi, step ti
        assert seq[ni, ti, fi] == buf.reshape(c * h, w, n)[fi, ti, ni]
    assert layout.as_sequence(torch.zeros(n, 5), 5).shape == (n, 1, 5)
