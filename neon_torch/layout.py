"""The only module that knows how neon lays out tensors and weights compared with torch.

neon keeps activations as 2-D ``(features, batch)`` buffers:

* flat data (shape ``F``): ``(F, N)``;
* images (shape ``(C, H, W)``): ``(C·H·W, N)``, each sample flattened row-major
  (feature ``c·H·W + h·W + w``);
* sequences (shape ``(F, T)``): ``(F, T·N)`` with time-major columns ``t·N + n``.

neon_torch works batch-first inside: ``(N, F)``, ``(N, C, H, W)`` and ``(N, T, F)``. Every
conversion between the two lives here, as pure functions with inverses.

>>> import numpy as np
>>> x = np.arange(6, dtype=np.float32).reshape(3, 2)      # neon (F=3, N=2)
>>> neon_to_batch_first(x, 3).shape
(2, 3)
>>> bool((batch_first_to_neon(neon_to_batch_first(x, 3), 3) == x).all())
True
>>> seq = np.arange(12).reshape(2, 6)                        # neon (F=2, T·N = 3·2)
>>> neon_to_batch_first(seq, (2, 3))[1, 2].tolist()          # sample 1, step 2 = column 2·2 + 1
[5, 11]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch

if TYPE_CHECKING:
    from typing_extensions import TypeIs

__all__ = [
    "as_sequence",
    "batch_first_sample_dims",
    "batch_first_to_neon",
    "column_to_vector",
    "conv_w_from_torch",
    "conv_w_to_torch",
    "from_neon_sample_order",
    "is_sequence_shape",
    "linear_w_from_torch",
    "linear_w_to_torch",
    "lstm_gates_to_torch",
    "neon_to_batch_first",
    "recurrent_w_from_torch",
    "recurrent_w_to_torch",
    "recurrent_w_to_torch_gates",
    "recurrent_w_views",
    "to_neon_sample_order",
    "vector_to_column",
]

Array = TypeVar("Array", np.ndarray, torch.Tensor)
Shape = int | tuple[int, ...]


def is_sequence_shape(shape: Shape) -> TypeIs[tuple[int, int]]:
    """neon reads a 2-tuple per-sample shape ``(F, T)`` as F features over T time steps."""
    return isinstance(shape, tuple) and len(shape) == 2


def _permute(x: Array, order: tuple[int, ...]) -> Array:
    return x.permute(*order) if isinstance(x, torch.Tensor) else x.transpose(order)


def neon_rows(shape: Shape) -> int:
    """Rows of neon's buffer for samples of ``shape``: F, or C·H·W for images (a sequence
    ``(F, T)`` keeps F rows and puts its steps along the columns)."""
    if isinstance(shape, int):
        return shape
    return int(shape[0]) if is_sequence_shape(shape) else int(np.prod(shape))


def neon_to_batch_first(x: Array, shape: Shape) -> Array:
    """neon buffer -> batch-first tensor for per-sample ``shape`` (see the module docstring).

    neon reads any buffer's memory as ``(features, batch)``: one of another shape (a
    ``(C, H, W)`` array with batch size 1, or a ``(1, nin)`` row of token ids that a
    ``LookupTable`` reads as ``(nin, 1)``) is read so too."""
    rows = neon_rows(shape)
    if x.ndim != 2 or (x.shape[0] != rows and x.shape[0] * x.shape[1] % rows == 0):
        x = x.reshape(rows, -1)
    if is_sequence_shape(shape):
        feats, steps = shape
        n = x.shape[1] // steps
        # (F, T·N) -> (F, T, N) -> (N, T, F)
        return _permute(x.reshape(feats, steps, n), (2, 1, 0))
    dims: tuple[int, ...] = (shape,) if isinstance(shape, int) else tuple(shape)
    # (prod(shape), N) -> (N, prod(shape)) -> (N, *shape)
    return x.T.reshape((x.shape[1], *dims))


def batch_first_to_neon(x: Array, shape: Shape) -> Array:
    """Inverse of :func:`neon_to_batch_first`."""
    if is_sequence_shape(shape):
        n, steps, feats = x.shape
        # (N, T, F) -> (F, T, N) -> (F, T·N)
        return _permute(x, (2, 1, 0)).reshape(feats, steps * n)
    # (N, *shape) -> (N, prod(shape)) -> (prod(shape), N)
    return x.reshape(x.shape[0], -1).T


def linear_w_to_torch(w: Array) -> Array:
    """Linear ``W``: neon ``(nout, nin)`` is already ``nn.Linear.weight``'s layout."""
    return w


def linear_w_from_torch(w: Array) -> Array:
    """Inverse of :func:`linear_w_to_torch`."""
    return w


def column_to_vector(w: Array) -> Array:
    """Per-feature vectors (Bias ``W``, BatchNorm vectors): ``(F, 1)`` -> ``(F,)``."""
    return w.reshape(-1)


def vector_to_column(w: Array) -> Array:
    """Inverse of :func:`column_to_vector`: ``(F,)`` -> ``(F, 1)``."""
    return w.reshape(-1, 1)


# -- convolution weights and per-sample feature order -------------------------------------------


def conv_w_to_torch(w: Array, kernel: tuple[int, ...], nout: int) -> Array:
    """Convolution ``W``: neon ``(C·[T·]R·S, K)`` -> torch ``(K, C, [T,] R, S)``.

    neon's rows are the C-order flatten of ``(C, [T,] R, S)``; ``kernel`` is ``([T,] R, S)`` and
    ``nout`` is K. Deconvolution uses the same map with C = its output maps and K = its input
    maps, which is ``nn.ConvTranspose*d.weight``'s ``(in, out, ...)`` order.
    """
    cin = w.shape[0] // math.prod(kernel)
    x: Array = w.reshape(cin, *kernel, nout)
    return _permute(x, (x.ndim - 1, *range(x.ndim - 1)))


def conv_w_from_torch(w: Array) -> Array:
    """Inverse of :func:`conv_w_to_torch`: ``(K, C, [T,] R, S)`` -> ``(C·[T·]R·S, K)``."""
    x = _permute(w, (*range(1, w.ndim), 0))
    return x.reshape(-1, w.shape[0])


def to_neon_sample_order(x: Array, shape: Shape) -> Array:
    """Batch-first samples -> ``(N, *shape)`` in neon's per-sample C order.

    Images are already in that order; sequences ``(N, T, F)`` become ``(N, F, T)`` (neon's
    ``(F, T)`` sample, feature-major).
    """
    return _permute(x, (0, 2, 1)) if is_sequence_shape(shape) else x


def from_neon_sample_order(x: Array, shape: Shape) -> Array:
    """Inverse of :func:`to_neon_sample_order` for samples of neon shape ``shape``."""
    return _permute(x, (0, 2, 1)) if is_sequence_shape(shape) else x


# -- recurrent layers: packed weights, gate order and sequence inputs ---------------------------


def recurrent_w_views(
    w: Array, nin: int, nout: int, ngates: int, directions: int = 1
) -> list[tuple[Array, Array, Array]]:
    """``(W_input, W_recur, b)`` per direction, as views of neon's packed recurrent ``W``.

    neon packs all weights of a recurrent layer in one ``W`` of shape
    ``(D·(nin + nout + 1), G·nout)`` (D directions, G gates): D row blocks of ``nin`` input
    rows, then D blocks of ``nout`` recurrent rows, then D bias rows. Each block is
    reinterpreted in C order (a reshape, not a transpose) as ``(G·nout, nin)``,
    ``(G·nout, nout)`` and ``(G·nout,)``: gate ``k`` of the input weights is rows
    ``[k·nout, (k+1)·nout)`` of the reshaped block, i.e. ``nn.RNN``-style ``weight_ih`` rows.
    Views share memory (and autograd) with ``w``.
    """
    g = ngates * nout
    rec0 = directions * nin
    bias0 = directions * (nin + nout)
    return [
        (
            w[d * nin : (d + 1) * nin].reshape(g, nin),
            w[rec0 + d * nout : rec0 + (d + 1) * nout].reshape(g, nout),
            w[bias0 + d].reshape(g),
        )
        for d in range(directions)
    ]


def recurrent_w_to_torch(w: Array) -> Array:
    """Recurrent ``W``: neon_torch keeps neon's packed layout as the parameter itself."""
    return w


def recurrent_w_from_torch(w: Array) -> Array:
    """Inverse of :func:`recurrent_w_to_torch`."""
    return w


def lstm_gates_to_torch(w: torch.Tensor) -> torch.Tensor:
    """Reorder LSTM gate rows from neon's ``i, f, o, g`` to torch's ``i, f, g, o`` (dim 0)."""
    n = w.shape[0] // 4
    return torch.cat((w[: 2 * n], w[3 * n :], w[2 * n : 3 * n]))


def as_sequence(x: torch.Tensor, shape: Shape) -> torch.Tensor:
    """A batch-first input of neon per-sample ``shape`` as a ``(N, T, F)`` sequence.

    neon's recurrent layers read their input buffer as ``(nin, T·N)``: an int shape ``F`` is
    one step; ``(F, T)`` is already a sequence; a longer shape such as ``(C, H, W)`` has
    ``nin = C·H`` features over ``T = W`` steps (the buffer's row-major reshape).
    """
    if isinstance(shape, int):
        return x.reshape(x.shape[0], 1, -1)
    if is_sequence_shape(shape):
        return x
    steps = shape[-1]
    return x.reshape(x.shape[0], -1, steps).transpose(1, 2)


# -- recurrent layers: neon's packed W -> torch.nn recurrent parameters --------------------------


def recurrent_w_to_torch_gates(
    w: torch.Tensor,
    nin: int,
    nout: int,
    ngates: int,
    directions: int = 1,
    split_inputs: bool = False,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``(weight_ih, weight_hh, bias)`` per direction in ``torch.nn``'s gate order (new tensors).

    ``w`` is neon's packed recurrent ``W`` (:func:`recurrent_w_views`); ``nin`` is the layer's
    input features. LSTM gates (``ngates=4``) go from neon's i, f, o, g to torch's i, f, g, o;
    GRU's r, z, h̃ already is torch's r, z, n. With ``split_inputs`` direction ``d`` reads only
    features ``[d·nin/2, (d+1)·nin/2)``: its ``weight_ih`` ``(G·nout, nin)`` is zero elsewhere,
    so both directions can read the whole input as ``torch.nn`` bidirectional modules do.
    """
    part = nin // 2 if split_inputs else nin
    out = []
    for d, (w_in, w_rec, b) in enumerate(recurrent_w_views(w, part, nout, ngates, directions)):
        if split_inputs:
            full = w_in.new_zeros(w_in.shape[0], nin)
            full[:, d * part : (d + 1) * part] = w_in
            w_in = full
        if ngates == 4:
            w_in, w_rec, b = (lstm_gates_to_torch(t) for t in (w_in, w_rec, b))
        out.append((w_in.clone(), w_rec.clone(), b.clone()))
    return out


def batch_first_sample_dims(shape: Shape) -> tuple[int, ...]:
    """The per-sample dimensions of a batch-first tensor for neon per-sample ``shape``: a
    sequence ``(F, T)`` is ``(T, F)``, an int ``F`` is ``(F,)``, an image keeps ``(C, H, W)``."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    return (dims[1], dims[0]) if len(dims) == 2 else dims
