"""neon's ``Pooling`` layer (max, average, l2; 2-D and 3-D; global)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backends.backend import current_backend
from ..errors import LayerConfigError, ShapeMismatchError, UnsupportedNeonFeature
from ..registry import neon_type
from ._base import Layer
from ._geometry import Window, check_positive, image_spatial, parse_axes, pool_out_size
from .convolution import EMPTY, Axes, _maps

__all__ = ["Pooling"]

_OPS = ("max", "avg", "l2")


def _parse_pool_strides(strides: Any, where: str) -> tuple[int, int, int]:
    """Strides given as ``(d, h, w)``, 0 where neon takes the window's extent instead."""
    if not strides:
        return (0, 0, 0)
    given = parse_axes(strides, "str", 1, where)  # validates keys and values
    if isinstance(strides, Mapping):
        d, h, w = (v if f"str_{a}" in strides else 0 for v, a in zip(given, "dhw", strict=True))
        return (d, h, w)
    return (0, given[1], given[2])


def _parse_pool_fshape(fshape: Any, where: str) -> tuple[int, int, int] | None:
    """``fshape`` -> window ``(T, R, S)``; None for ``'all'`` (decided by the input)."""
    if isinstance(fshape, str):
        if fshape != "all":
            raise LayerConfigError(f"{where}: fshape string must be 'all', got {fshape!r}.")
        return None
    if isinstance(fshape, Mapping):
        unknown = sorted(set(fshape) - {"T", "R", "S", "J"})
        if unknown or "R" not in fshape or "S" not in fshape:
            raise LayerConfigError(
                f"{where}: fshape dict {fshape!r} needs keys R and S (optionally T); unknown "
                f"keys {unknown}."
            )
        if fshape.get("J", 1) != 1:
            raise UnsupportedNeonFeature(
                f"{where}: pooling across channels (fshape J={fshape['J']}) is not supported."
            )
        dims = (fshape.get("T", 1), fshape["R"], fshape["S"])
    elif isinstance(fshape, (tuple, list)) and len(fshape) in (2, 3):
        dims = (1, *fshape) if len(fshape) == 2 else tuple(fshape)
    elif isinstance(fshape, int) and not isinstance(fshape, bool):
        dims = (1, fshape, fshape)
    else:
        raise LayerConfigError(
            f"{where}: fshape must be an int, (R, S), (T, R, S), a dict or 'all', got {fshape!r}."
        )
    if not all(isinstance(d, int) and d >= 1 for d in dims):
        raise LayerConfigError(f"{where}: fshape entries must be integers >= 1, got {fshape!r}.")
    return (int(dims[0]), int(dims[1]), int(dims[2]))


@neon_type("neon.layers.layer.Pooling", "neon.layers.Pooling")
class Pooling(Layer):
    """Max, average or l2 pooling over spatial windows, per channel.

    neon semantics:

    * ``fshape``: int (square window), ``(R, S)``, ``(T, R, S)``, a dict, or ``'all'`` (the
      whole input: global pooling to ``(C, 1, 1)``);
    * ``strides`` default to the window (non-overlapping); ints set height and width;
      ``padding`` (int or ``pad_h``/``pad_w``/``pad_d`` dict) must be smaller than the window;
    * output size ``(H + 2·pad − R) // stride + 1``; in caffe mode (``gen_backend(compat_mode=
      'caffe')``) the ceil rule, minus one when the last window would start in the padding;
    * padded cells never count: max ignores them, ``avg`` divides by the number of real cells
      in each window (torch's ``count_include_pad=False``); ``l2`` is ``sqrt(Σ x²)``.

    Shape:
        input ``(N, C, H, W)`` or ``(N, C, D, H, W)``; output ``(N, C, P, Q)`` (or with depth,
        dropped when it is 1).
    """

    def __init__(
        self,
        fshape: Any,
        op: str = "max",
        strides: Axes = EMPTY,
        padding: Axes = EMPTY,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        where = f"Pooling {self.name!r}"
        if op not in _OPS:
            raise LayerConfigError(f"{where}: unknown op {op!r}; neon supports {list(_OPS)}.")
        self.fshape = fshape
        self.op = op
        self.strides = strides
        self.padding = padding
        self._kernel = _parse_pool_fshape(fshape, where)
        self._pad = parse_axes(padding, "pad", 0, where)
        self._stride_given = _parse_pool_strides(strides, where)
        self._divisor: Tensor | None = None

    def configure(self, in_obj: Any) -> Pooling:
        super().configure(in_obj)
        shape = self.in_shape
        where = f"Pooling {self.name!r}"
        spatial = image_spatial(shape, where)
        self._volumetric = len(shape) == 4  # type: ignore[arg-type]  # an image shape
        kernel = self._kernel or spatial
        if not self._volumetric and kernel[0] != 1:
            raise ShapeMismatchError(f"{where}: 3-D window {self.fshape!r} on 2-D input {shape}.")
        stride = cast(
            "tuple[int, int, int]",
            tuple(g or k for g, k in zip(self._stride_given, kernel, strict=True)),
        )
        if any(p >= k for p, k in zip(self._pad, kernel, strict=True) if p):
            raise LayerConfigError(
                f"{where}: padding {self._pad[1:]} must be smaller than the window "
                f"{kernel[1:]} (neon refuses padding >= window); input shape {shape}."
            )
        self.window = Window(kernel, stride, self._pad)
        caffe = current_backend().check_caffe_compat()
        out = tuple(
            pool_out_size(size, k, s, p, caffe)
            for size, k, s, p in zip(spatial, kernel, stride, self._pad, strict=True)
        )
        check_positive(out, where, shape, self.window)
        self._squeeze_depth = self._volumetric and out[0] == 1
        if self._volumetric and not self._squeeze_depth:
            self.out_shape = (shape[0], *out)  # type: ignore[index]  # an image shape (C, ...)
        else:
            self.out_shape = (shape[0], out[1], out[2])  # type: ignore[index]  # image
        self._plan(spatial, out, caffe)
        return self

    def _plan(self, spatial: tuple[int, ...], out: tuple[int, ...], caffe: bool) -> None:
        """Use torch's pooling with its own padding when it gives neon's windows, else pad
        explicitly (left ``pad``, right whatever neon's output size needs)."""
        cut = 0 if self._volumetric else 1
        w = self.window
        self._args: dict[str, Any] = {"kernel_size": w.kernel[cut:], "stride": w.stride[cut:]}
        torch_out = tuple(
            pool_out_size(size, k, s, p, False) if not caffe else _torch_ceil(size, k, s, p)
            for size, k, s, p in zip(spatial, w.kernel, w.stride, w.padding, strict=True)
        )
        fits = all(2 * p <= k for p, k in zip(w.padding, w.kernel, strict=True))
        self._native = self.op != "l2" and fits and torch_out == out
        self._ceil = caffe
        # explicit padding, last axis first as F.pad wants: (left, right) per axis
        pads: list[int] = []
        for size, k, s, p, o in reversed(
            list(zip(spatial, w.kernel, w.stride, w.padding, out, strict=True))[cut:]
        ):
            pads += [p, (o - 1) * s + k - size - p]
        self._pads = tuple(pads)
        self._divisor = None

    def forward(self, x: Tensor) -> Tensor:
        self._require_shape()
        if x.shape[1] != self.in_shape[0]:  # type: ignore[index]  # an image shape
            raise ShapeMismatchError(
                f"Pooling {self.name!r} was configured for {self.in_shape[0]} channels "  # type: ignore[index]  # image shape
                f"(sample shape {self.in_shape}), but received a batch of shape "
                f"{tuple(x.shape)}."
            )
        three = self._volumetric
        if self._native:
            pad = self.window.padding[0 if three else 1 :]
            if self.op == "max":
                pool: Callable[..., Tensor] = F.max_pool3d if three else F.max_pool2d
                y = pool(x, padding=pad, ceil_mode=self._ceil, **self._args)
            else:
                pool = F.avg_pool3d if three else F.avg_pool2d
                y = pool(
                    x, padding=pad, ceil_mode=self._ceil, count_include_pad=False, **self._args
                )
        else:
            y = self._explicit(x)
        return y.squeeze(2) if self._squeeze_depth else y

    def _explicit(self, x: Tensor) -> Tensor:
        three = self._volumetric
        if self.op == "max":
            padded = F.pad(x, self._pads, value=float("-inf"))
            return (F.max_pool3d if three else F.max_pool2d)(padded, **self._args)
        avg = F.avg_pool3d if three else F.avg_pool2d
        if self.op == "l2":
            sums = avg(F.pad(x * x, self._pads), **self._args)
            return torch.sqrt(sums * math.prod(self._args["kernel_size"]))
        sums = avg(F.pad(x, self._pads), **self._args)
        return sums / self._valid_fraction(x)

    def _valid_fraction(self, x: Tensor) -> Tensor:
        """Per-window share of real (not padded) cells: ``(1, 1, P, Q)``, cached per device."""
        if self._divisor is None or self._divisor.device != x.device:
            ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
            avg = F.avg_pool3d if self._volumetric else F.avg_pool2d
            self._divisor = avg(F.pad(ones, self._pads), **self._args)
        return self._divisor

    def to_torch(self) -> nn.Module:
        """``nn.MaxPool*d`` / ``nn.AvgPool*d(count_include_pad=False)`` where torch's padding
        gives neon's windows, else :class:`~neon_torch.convert.modules.PadPool`."""
        from ..convert.modules import DropDepth, PadPool

        self._require_shape()
        three = self._volumetric
        if self._native:
            pad = self.window.padding[0 if three else 1 :]
            if self.op == "max":
                cls: Any = nn.MaxPool3d if three else nn.MaxPool2d
                pool = cls(padding=pad, ceil_mode=self._ceil, **self._args)
            else:
                cls = nn.AvgPool3d if three else nn.AvgPool2d
                pool = cls(padding=pad, ceil_mode=self._ceil, count_include_pad=False, **self._args)
        else:
            pool = PadPool(self.op, self._args["kernel_size"], self._args["stride"], self._pads)
        return nn.Sequential(pool, DropDepth()) if self._squeeze_depth else pool

    def __str__(self) -> str:
        if self.out_shape is None:
            return f"Pooling Layer '{self.name}'"
        return (
            f"Pooling Layer '{self.name}': {_maps(self.in_shape)} inputs, "
            f"{_maps(self.out_shape)} outputs"
        )


def _torch_ceil(size: int, kernel: int, stride: int, pad: int) -> int:
    """torch's ``ceil_mode=True`` output length (drops a last window starting past the input)."""
    out = -(-(size + 2 * pad - kernel) // stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out
