"""neon's argument forms for convolution and pooling windows, and its output-size rules.

neon accepts ``fshape``, ``strides``, ``padding`` and ``dilation`` as ints, tuples or dicts with
its own keys (``R``/``S``/``T``/``K``, ``str_h``/``str_w``/``str_d``, ``pad_h``/..., ``dil_h``/...).
An int sets the height and width entries only (never depth). Everything here works on the
spatial axes in the order ``(D, H, W)``: a 2-D layer is a 3-D one with depth 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import LayerConfigError, ShapeMismatchError

__all__ = [
    "Window",
    "check_positive",
    "conv_out_size",
    "image_spatial",
    "parse_axes",
    "parse_conv_fshape",
    "pool_out_size",
]


@dataclass(frozen=True)
class Window:
    """A kernel/window geometry over ``(D, H, W)``."""

    kernel: tuple[int, int, int]
    stride: tuple[int, int, int]
    padding: tuple[int, int, int]
    dilation: tuple[int, int, int] = (1, 1, 1)


def _as_int(value: Any, what: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise LayerConfigError(f"{layer}: {what} must be an integer, got {value!r}.")
    return int(value)


def parse_axes(value: Any, prefix: str, default: int, layer: str) -> tuple[int, int, int]:
    """``strides``/``padding``/``dilation`` in neon's forms -> ``(d, h, w)``.

    ``value`` is an int (height and width; depth keeps ``default``), a dict with keys
    ``<prefix>_h``, ``<prefix>_w``, ``<prefix>_d`` (missing keys take ``default``), or an empty
    dict / None (all ``default``). ``prefix`` is ``str``, ``pad`` or ``dil``.
    """
    axes = {"d": default, "h": default, "w": default}
    if value is None or (isinstance(value, Mapping) and not value):
        pass
    elif isinstance(value, Mapping):
        known = {f"{prefix}_{a}" for a in "dhw"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise LayerConfigError(
                f"{layer}: unknown key(s) {unknown} in {prefix!r} dict {value!r}; neon accepts "
                f"{sorted(known)}."
            )
        for key, v in value.items():
            axes[key[-1]] = _as_int(v, key, layer)
    else:
        axes["h"] = axes["w"] = _as_int(value, prefix, layer)
    out = (axes["d"], axes["h"], axes["w"])
    minimum = 0 if prefix == "pad" else 1
    if min(out) < minimum:
        raise LayerConfigError(f"{layer}: {prefix} values must be >= {minimum}, got {value!r}.")
    return out


def parse_conv_fshape(fshape: Any, layer: str) -> tuple[tuple[int, int, int], int]:
    """A convolution ``fshape`` -> ``((T, R, S), K)``.

    neon forms: ``(R, S, K)``, ``(T, R, S, K)`` or a dict with keys ``R``, ``S``, ``K`` and
    optionally ``T``. ``K`` is the number of output maps (input maps for ``Deconvolution``'s
    output, see there).
    """
    if isinstance(fshape, Mapping):
        unknown = sorted(set(fshape) - {"T", "R", "S", "K"})
        missing = sorted({"R", "S", "K"} - set(fshape))
        if unknown or missing:
            raise LayerConfigError(
                f"{layer}: fshape dict {fshape!r} must have keys R, S, K (and optionally T); "
                f"unknown {unknown}, missing {missing}."
            )
        dims = [fshape.get("T", 1), fshape["R"], fshape["S"], fshape["K"]]
    elif isinstance(fshape, (tuple, list)) and len(fshape) in (3, 4):
        dims = [1, *fshape] if len(fshape) == 3 else list(fshape)
    else:
        raise LayerConfigError(
            f"{layer}: fshape must be (R, S, K), (T, R, S, K) or a dict with those keys, got "
            f"{fshape!r}."
        )
    t, r, s, k = (_as_int(v, "fshape entry", layer) for v in dims)
    if min(t, r, s, k) < 1:
        raise LayerConfigError(f"{layer}: fshape entries must be >= 1, got {fshape!r}.")
    return (t, r, s), k


def image_spatial(shape: Any, where: str) -> tuple[int, int, int]:
    """The spatial extent ``(D, H, W)`` of an image shape ``(C, H, W)`` (D = 1) or
    ``(C, D, H, W)``; anything else raises, naming ``where`` and the shape received."""
    if not isinstance(shape, tuple) or len(shape) not in (3, 4):
        raise ShapeMismatchError(
            f"{where} needs image input of shape (C, H, W) or (C, D, H, W), got {shape!r}. "
            "For a first layer, give the data iterator lshape=(C, H, W)."
        )
    return (shape[1], shape[2], shape[3]) if len(shape) == 4 else (1, shape[1], shape[2])


def conv_out_size(size: int, kernel: int, stride: int, pad: int, dil: int) -> int:
    """neon's convolution output length: ``(size + 2·pad − (dil·(kernel − 1) + 1)) // stride + 1``
    (the same in caffe mode); 0 or less means the input is smaller than the filter."""
    return (size + 2 * pad - (dil * (kernel - 1) + 1)) // stride + 1


def pool_out_size(size: int, kernel: int, stride: int, pad: int, caffe: bool) -> int:
    """neon's pooling output length: floor rule, or in caffe mode the ceil rule minus one when
    the last window would start in the padding (``pad > 0`` and ``(P−1)·stride ≥ size + pad``)."""
    if not caffe:
        return (size + 2 * pad - kernel) // stride + 1
    out = math.ceil((size + 2 * pad - kernel) / stride) + 1
    if pad > 0 and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def check_positive(out: tuple[int, ...], layer: str, in_shape: Any, window: Window) -> None:
    """Raise when a window does not fit in the (padded) input."""
    if min(out) < 1:
        raise ShapeMismatchError(
            f"{layer}: input of shape {in_shape} (C, [D,] H, W) is smaller than the window "
            f"{window.kernel[-2:] if window.kernel[0] == 1 else window.kernel} with padding "
            f"{window.padding}, dilation {window.dilation}; expected every spatial size to be at "
            "least the (dilated) window minus twice the padding. Use a smaller filter or more "
            "padding, or feed larger inputs."
        )
