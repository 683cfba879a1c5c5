"""neon's convolution layers: ``Convolution``, ``Convolution_bias`` and ``Deconvolution``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import layout
from ..backends.backend import current_backend
from ..backends.tensor import Tensor as NeonTensor
from ..errors import LayerConfigError, ShapeMismatchError
from ..registry import neon_type
from ._base import ParameterLayer
from ._geometry import (
    Window,
    check_positive,
    conv_out_size,
    image_spatial,
    parse_axes,
    parse_conv_fshape,
)

__all__ = ["Convolution", "Convolution_bias", "Deconvolution"]

# neon's ``{}`` defaults, immutable so that no call can change them
EMPTY: Mapping[str, int] = MappingProxyType({})
Axes = int | Mapping[str, int]


class _ConvolutionBase(ParameterLayer):
    """Shared set-up of the convolution layers: argument parsing, shapes, weight layout.

    Spatial axes are handled as ``(D, H, W)``; 2-D images are volumes of depth 1 and run
    through the 2-D torch kernels.
    """

    _label: ClassVar[str] = "Convolution"
    _transposed: ClassVar[bool] = False

    def __init__(
        self,
        fshape: Any,
        strides: Axes = EMPTY,
        padding: Axes = EMPTY,
        dilation: Axes = EMPTY,
        init: Any = None,
        bsum: bool = False,
        name: str | None = None,
        parallelism: str = "Data",
    ) -> None:
        super().__init__(init=init, name=name, parallelism=parallelism)
        self.fshape = fshape
        self.strides = strides
        self.padding = padding
        self.dilation = dilation
        self.bsum = bsum
        where = f"{type(self).__name__} {self.name!r}"
        kernel, self.nmaps = parse_conv_fshape(fshape, where)
        self.window = Window(
            kernel,
            parse_axes(strides, "str", 1, where),
            parse_axes(padding, "pad", 0, where),
            parse_axes(dilation, "dil", 1, where),
        )
        # a Parameter once allocate() ran (the methods using it check that first)
        self.weight: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()
        self._volumetric = False
        self._squeeze_depth = False
        self._channels_last = False

    # -- shapes -----------------------------------------------------------------------------
    def configure(self, in_obj: Any) -> _ConvolutionBase:
        super().configure(in_obj)
        shape = self.in_shape
        where = f"{type(self).__name__} {self.name!r}"
        spatial = image_spatial(shape, where)
        self._volumetric = len(shape) == 4  # type: ignore[arg-type]  # an image shape
        if not self._volumetric and self.window.kernel[0] != 1:
            raise ShapeMismatchError(
                f"{where} has a 3-D filter {self.fshape!r} but 2-D input {shape}; 3-D filters "
                "need (C, D, H, W) input."
            )
        self.nchannels = shape[0]  # type: ignore[index]  # an image shape
        out = tuple(
            self._out_size(size, k, s, p, d)
            for size, k, s, p, d in zip(spatial, *self._window_axes(), strict=True)
        )
        check_positive(out, where, shape, self.window)
        self._squeeze_depth = self._volumetric and out[0] == 1
        if self._volumetric and not self._squeeze_depth:
            self.out_shape = (self.nmaps, *out)
        else:
            self.out_shape = (self.nmaps, out[1], out[2])
        return self

    def _window_axes(self) -> tuple[tuple[int, ...], ...]:
        w = self.window
        return w.kernel, w.stride, w.padding, w.dilation

    def _out_size(self, size: int, kernel: int, stride: int, pad: int, dil: int) -> int:
        return conv_out_size(size, kernel, stride, pad, dil)

    @property
    def _kernel(self) -> tuple[int, ...]:
        """Kernel extent in torch's order for the input rank: ``(R, S)`` or ``(T, R, S)``."""
        return self.window.kernel if self._volumetric else self.window.kernel[1:]

    def _torch_args(self) -> dict[str, tuple[int, ...]]:
        cut = 0 if self._volumetric else 1
        return {
            "stride": self.window.stride[cut:],
            "padding": self.window.padding[cut:],
            "dilation": self.window.dilation[cut:],
        }

    def _weight_maps(self) -> tuple[int, int]:
        """``(row maps, column maps)`` of neon's ``W``: rows ``maps·[T·]R·S``, columns maps."""
        return self.nchannels, self.nmaps

    # -- parameters ---------------------------------------------------------------------------
    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        if self._allocated:
            return
        rows, cols = self._weight_maps()
        w = self._fill(self.init, (rows * math.prod(self._kernel), cols))
        self.weight = self._new_parameter(w, self._w_to_torch)
        self._allocate_extra()
        self._channels_last = current_backend().channels_last and not self._volumetric
        if self._channels_last:
            self.weight.data = self.weight.data.contiguous(memory_format=torch.channels_last)
        self._args: dict[str, Any] = self._torch_args()
        self._allocated = True

    def _allocate_extra(self) -> None:
        """Parameters drawn after ``W`` (the fused bias)."""

    def _w_to_torch(self, w: Any) -> Any:
        return layout.conv_w_to_torch(w, self._kernel, self._weight_maps()[1])

    def _param_to_torch(self, key: str, value: np.ndarray) -> Tensor:
        if key != "W":
            return super()._param_to_torch(key, value)
        return torch.as_tensor(self._w_to_torch(value), dtype=self.weight.dtype)

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.weight]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.weight}

    def _neon_layout(self, key: str | None, t: Tensor) -> Tensor:
        if key != "W":
            return super()._neon_layout(key, t)
        # (K, C, [T,] R, S) -> neon's (C·[T·]R·S, K): a view for a contiguous weight
        return layout.conv_w_from_torch(t)

    @property
    def W(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's ``W`` ``(C·R·S, K)`` as a backend Tensor; it shares the torch weight's
        storage (writes change the layer) unless the weight is in ``channels_last`` format,
        where it is a copy."""
        return self._neon_param("W")

    @property
    def dW(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's ``dW``: the weight's ``.grad`` in neon's ``(C·R·S, K)`` layout, or None."""
        return self._neon_grad("W")

    # -- forward ------------------------------------------------------------------------------
    def _prepare(self, x: Tensor) -> Tensor:
        self._check_allocated()
        if x.shape[1] != self.nchannels:
            raise ShapeMismatchError(
                f"{type(self).__name__} {self.name!r} was initialized for {self.nchannels} input "
                f"channels (sample shape {self.in_shape}), but received a batch of shape "
                f"{tuple(x.shape)} (N, C, ...). Feed data with {self.nchannels} channels, or "
                "build a new model."
            )
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _finish(self, y: Tensor) -> Tensor:
        return y.squeeze(2) if self._squeeze_depth else y

    # -- plain torch ------------------------------------------------------------------------
    def to_torch(self) -> nn.Module:
        """``nn.Conv2d``/``nn.Conv3d`` (``nn.ConvTranspose*d`` for Deconvolution) with the
        weights copied; for 3-D inputs whose output depth is 1, followed by ``DropDepth``."""
        from ..convert.modules import DropDepth

        self._check_allocated()
        w = self.weight.detach()
        bias = getattr(self, "bias", None)
        in_maps, out_maps = (
            (w.shape[0], w.shape[1]) if self._transposed else (w.shape[1], w.shape[0])
        )
        kinds = {
            (False, False): nn.Conv2d,
            (False, True): nn.Conv3d,
            (True, False): nn.ConvTranspose2d,
            (True, True): nn.ConvTranspose3d,
        }
        conv = kinds[(self._transposed, self._volumetric)](
            in_maps,
            out_maps,
            tuple(w.shape[2:]),
            bias=isinstance(bias, Tensor),
            device=w.device,
            dtype=w.dtype,
            **self._args,
        )
        with torch.no_grad():
            conv.weight.copy_(w)
            if isinstance(bias, Tensor):
                conv.bias.copy_(bias.detach())
        return nn.Sequential(conv, DropDepth()) if self._squeeze_depth else conv

    def __str__(self) -> str:
        if self.out_shape is None:
            return f"{self._label} Layer '{self.name}'"
        w = self.window
        cut = 0 if self._volumetric else 1

        def pair(v: tuple[int, ...]) -> str:
            return ",".join(str(i) for i in v[cut:])

        return (
            f"{self._label} Layer '{self.name}': {_maps(self.in_shape)} inputs, "
            f"{_maps(self.out_shape)} outputs, {pair(w.padding)} padding, {pair(w.stride)} "
            f"stride, {pair(w.dilation)} dilation"
        )


def _maps(shape: Any) -> str:
    """neon's ``C x (HxW)`` rendering of an image shape."""
    return f"{shape[0]} x ({'x'.join(str(s) for s in shape[1:])})"


@neon_type("neon.layers.layer.Convolution", "neon.layers.Convolution")
class Convolution(_ConvolutionBase):
    """Convolution without bias (cross-correlation, zero padding), on torch's conv kernels.

    neon semantics: ``fshape = (R, S, K)`` (or ``(T, R, S, K)``, or a dict) with K output maps;
    ``strides``, ``padding``, ``dilation`` are ints (height and width; depth keeps 1 / 0 / 1) or
    dicts with ``str_h``/``str_w``/``str_d``, ``pad_h``/..., ``dil_h``/...; output size
    ``(H + 2·pad − (dil·(R − 1) + 1)) // stride + 1`` (also in caffe mode). ``W`` has neon shape
    ``(C·[T·]R·S, K)`` (rows C-order over ``(C, [T,] R, S)``) and is filled by ``init`` in that
    shape, so ``local=True`` fans are C·R·S; torch holds it as ``(K, C, [T,] R, S)``.
    ``bsum`` is a neon performance flag, kept for descriptions.

    Shape:
        input ``(N, C, H, W)`` or ``(N, C, D, H, W)``; output ``(N, K, P, Q)`` or
        ``(N, K, M, P, Q)`` (the depth axis is dropped when M is 1, as in neon).
    """

    def forward(self, x: Tensor) -> Tensor:
        x = self._prepare(x)
        conv = F.conv3d if self._volumetric else F.conv2d
        return self._finish(conv(x, self.weight, None, **self._args))


@neon_type("neon.layers.layer.Convolution_bias", "neon.layers.Convolution_bias")
class Convolution_bias(Convolution):
    """Convolution with a fused per-output-map bias (what ``Conv(..., bias=init)`` builds).

    neon semantics: as :class:`Convolution`, plus ``weight_bias`` of neon shape ``(K, 1)``
    filled by the ``bias`` initializer right after ``W``. Optimized parameters are
    ``[W, weight_bias]`` and their states are saved as one list per parameter.
    torch names: ``weight`` and ``bias`` (shape ``(K,)``).
    """

    _nested_states: ClassVar[bool] = True
    _config_attrs: ClassVar[dict[str, str]] = {"bias": "bias_init"}

    def __init__(
        self,
        fshape: Any,
        strides: Axes = EMPTY,
        padding: Axes = EMPTY,
        dilation: Axes = EMPTY,
        init: Any = None,
        bsum: bool = False,
        name: str | None = None,
        bias: Any = None,
        parallelism: str = "Data",
    ) -> None:
        super().__init__(fshape, strides, padding, dilation, init, bsum, name, parallelism)
        if bias is None:
            raise LayerConfigError(
                f"Convolution_bias {self.name!r} needs a bias initializer (bias=Constant(0), "
                "...); use Convolution for a convolution without bias."
            )
        self.bias_init = bias
        # a Parameter once allocate() ran (the methods using it check that first)
        self.bias: nn.Parameter = None  # type: ignore[assignment]  # None until allocate()

    def _allocate_extra(self) -> None:
        b = self._fill(self.bias_init, (self.nmaps, 1))
        self.bias = self._new_parameter(b, layout.column_to_vector)

    def forward(self, x: Tensor) -> Tensor:
        x = self._prepare(x)
        conv = F.conv3d if self._volumetric else F.conv2d
        return self._finish(conv(x, self.weight, self.bias, **self._args))

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.weight, self.bias]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.weight, "weight_bias": self.bias}

    @property
    def weight_bias(self) -> NeonTensor | None:
        """neon's fused bias ``(K, 1)`` as a backend Tensor sharing its storage."""
        return self._neon_param("weight_bias")

    @property
    def grad_bias(self) -> NeonTensor | None:
        """neon's ``grad_bias``: the fused bias ``.grad`` as ``(K, 1)``, or None."""
        return self._neon_grad("weight_bias")


@neon_type("neon.layers.layer.Deconvolution", "neon.layers.Deconvolution")
class Deconvolution(_ConvolutionBase):
    """Transposed convolution (neon's deconvolution), on torch's ``conv_transpose`` kernels.

    neon semantics: the input has K maps; ``fshape = (R, S, C)`` gives **C output maps**. The
    layer computes the input gradient of the convolution that maps C maps to K with the same
    ``W``: output size ``(P − 1)·stride − 2·pad + dil·(R − 1) + 1`` (no output padding). ``W``
    has neon shape ``(C·[T·]R·S, K)`` (filled in that shape, so ``local=True`` fans are C·R·S)
    and is torch's ``ConvTranspose`` weight ``(K, C, [T,] R, S)``. No bias: ``Deconv(...,
    bias=...)`` appends a separate ``Bias`` layer.

    Shape:
        input ``(N, K, P, Q)`` (or with depth); output ``(N, C, H, W)`` (or with depth).
    """

    _label = "Deconvolution"
    _transposed = True

    def _out_size(self, size: int, kernel: int, stride: int, pad: int, dil: int) -> int:
        return (size - 1) * stride - 2 * pad + dil * (kernel - 1) + 1

    def _weight_maps(self) -> tuple[int, int]:
        return self.nmaps, self.nchannels

    def forward(self, x: Tensor) -> Tensor:
        x = self._prepare(x)
        deconv = F.conv_transpose3d if self._volumetric else F.conv_transpose2d
        return self._finish(deconv(x, self.weight, None, **self._args))
