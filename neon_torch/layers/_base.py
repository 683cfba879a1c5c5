"""Layer base classes: neon's two-phase set-up (``configure``, then ``allocate``) on nn.Module."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from .._object import NervanaObject
from ..backends.backend import current_backend
from ..errors import (
    LayerConfigError,
    NotConfiguredError,
    ShapeMismatchError,
    UnsupportedNeonFeature,
)
from ..layout import is_sequence_shape

__all__ = [
    "Layer",
    "ParameterLayer",
    "Shape",
    "claim_parameters",
    "parameter_limit",
    "resolve_in_shape",
]

Shape = int | tuple[int, ...]

_LIMIT: ContextVar[list[int] | None] = ContextVar("neon_torch_parameter_limit", default=None)


@contextlib.contextmanager
def parameter_limit(elements: int, source: str) -> Iterator[None]:
    """Within the block, parameters are created as zeros (the caller then fills every one of
    them, from a file) and may hold at most ``elements`` values in all, so a description that
    declares larger layers than its file holds fails before the memory is taken."""
    token = _LIMIT.set([elements, source])  # type: ignore[list-item]
    try:
        yield
    finally:
        _LIMIT.reset(token)


def claim_parameters(layer: Layer, shape: tuple[int, ...]) -> bool:
    """Count a new parameter of ``shape`` against the active :func:`parameter_limit`; True when
    one is active (the values will be overwritten, so they need not be drawn).

    Raises:
        ShapeMismatchError: the parameters so far exceed what the file holds.
    """
    limit = _LIMIT.get()
    if limit is None:
        return False
    need = math.prod(shape)
    if need > limit[0] or min(shape, default=0) < 0:
        raise ShapeMismatchError(
            f"{limit[1]}: layer {layer.name!r} ({type(layer).__name__}) declares parameters of "
            f"shape {shape}, more values than the file still holds ({limit[0]}); the "
            "description does not match its weights."
        )
    limit[0] -= need
    return True


def resolve_in_shape(in_obj: Any) -> Shape:
    """The per-sample shape neon's ``configure`` reads from ``in_obj``.

    ``in_obj`` may be a shape (int or tuple), a configured layer (its ``out_shape``) or a dataset
    with a ``shape`` attribute.
    """
    if isinstance(in_obj, Layer):
        if in_obj.out_shape is None:
            raise NotConfiguredError(f"Layer {in_obj.name!r} has not been configured yet.")
        return in_obj.out_shape
    shape = getattr(in_obj, "shape", in_obj)
    if isinstance(shape, list) and not all(isinstance(s, (int, np.integer)) for s in shape):
        return [resolve_in_shape(s) for s in shape]  # type: ignore[return-value]  # streams
    if isinstance(shape, (int, np.integer)):
        return int(shape)
    if isinstance(shape, (tuple, list)) and all(isinstance(s, (int, np.integer)) for s in shape):
        dims = tuple(int(s) for s in shape)
        return dims[0] if len(dims) == 1 else dims
    raise ShapeMismatchError(
        f"Cannot read an input shape from {type(in_obj).__name__} ({shape!r}); expected an int, "
        "a tuple of ints, a layer, or a dataset with a .shape attribute."
    )


def shape_size(shape: Shape) -> int:
    """Number of features of one sample of ``shape``."""
    return shape if isinstance(shape, int) else int(np.prod(shape))


class Layer(NervanaObject, nn.Module):
    """Base of all neon_torch layers: a ``torch.nn.Module`` with neon's life cycle.

    ``configure(in_obj)`` infers ``in_shape``/``out_shape`` (per-sample shapes, without the
    batch axis, in neon's convention: int ``F``, ``(F, T)`` sequences, ``(C, H, W)`` images);
    ``allocate()`` creates parameters; ``forward`` runs batch-first tensors; ``fprop(x,
    inference)`` is neon's entry point.

    ``owns_output`` mirrors neon: layers that work in place on their input (Bias, Activation,
    Dropout) do not own an output buffer. It decides neon's parameter-allocation order.
    """

    owns_output: ClassVar[bool] = True
    _description_skip: ClassVar[tuple[str, ...]] = ("parallelism",)

    def __init__(self, name: str | None = None, parallelism: str = "Unknown") -> None:
        nn.Module.__init__(self)
        NervanaObject.__init__(self, name)
        self.parallelism = parallelism
        self.in_shape: Shape | None = None
        self.out_shape: Shape | None = None

    # -- neon life cycle -----------------------------------------------------------------
    def configure(self, in_obj: Any) -> Layer:
        """Record the input shape from a shape, a previous layer or a dataset; set ``out_shape``."""
        self.in_shape = resolve_in_shape(in_obj)
        self.out_shape = self.in_shape
        return self

    def allocate(self) -> None:
        """Create parameters (none by default). Idempotent."""

    def fprop(self, inputs: Tensor, inference: bool = False) -> Tensor:
        """neon's forward call: ``inference=True`` selects inference behaviour (``eval()``)."""
        if self.training == inference:
            self.train(not inference)
        if inference:
            with torch.no_grad():
                return self(inputs)
        return self(inputs)

    # -- neon introspection --------------------------------------------------------------
    @property
    def nout(self) -> int:
        """Features per sample (per step for sequences) of the output."""
        shape = self._require_shape()
        if isinstance(shape, int):
            return shape
        return shape[0] if is_sequence_shape(shape) else shape_size(shape)

    def _require_shape(self) -> Shape:
        if self.out_shape is None:
            raise NotConfiguredError(
                f"Layer {self.name!r} is not configured. Call model.initialize(dataset) "
                "(or layer.configure(in_shape)) first."
            )
        return self.out_shape

    def nested_str(self, level: int = 0) -> str:
        """neon's indented one-line description (used by ``str(model)``)."""
        return "  " * level + str(self)

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.name}"

    def layer_description(self, get_weights: bool = False, keep_states: bool = False) -> dict:
        """neon's per-layer description (``type``, ``config`` and, on request, weights)."""
        return self.get_description()

    @property
    def is_parametric(self) -> bool:
        """True for layers whose parameters an optimizer updates."""
        return False

    # -- plain-torch export protocol -----------------------------------------------------
    def to_torch(self) -> nn.Module:
        """A plain ``torch.nn`` module computing this layer's inference forward on batch-first
        tensors, with copies of the weights (standard modules where neon's math allows, small
        self-contained ones from :mod:`neon_torch.convert.modules` elsewhere).

        Parameters must be named as torch names them (``weight``, ``bias``, ``running_mean``,
        ...). Layers without an equivalent raise ``UnsupportedNeonFeature``.
        """
        raise UnsupportedNeonFeature(
            f"{type(self).__name__} ({self.name!r}) has no plain-torch equivalent yet; "
            "to_torch() is not implemented for it."
        )

    def fold_into_torch(self, previous: nn.Module) -> bool:
        """Merge this layer into the plain module made for the layer before it, if possible
        (a Bias into an ``nn.Linear``/``nn.Conv*d`` without bias). Returns True when merged,
        and then no module is emitted for this layer."""
        return False


class ParameterLayer(Layer):
    """A layer with parameters and per-parameter optimizer states.

    ``states`` holds, for each optimized parameter (in neon's ``get_params`` order), the list
    of optimizer state tensors neon keeps for it (empty until the first optimizer step).
    Subclasses define :meth:`optimized_parameters`, :meth:`neon_params` and
    :meth:`set_neon_params`; layouts are converted through :mod:`neon_torch.layout`.
    """

    # True for layers whose serialized ``states`` nest one list per parameter (BatchNorm).
    _nested_states: ClassVar[bool] = False

    def __init__(self, init: Any = None, name: str | None = None, parallelism: str = "Unknown"):
        super().__init__(name, parallelism)
        self.init = init
        self.states: list[list[Tensor]] = []
        self._allocated = False

    @property
    def is_parametric(self) -> bool:
        return True

    def optimized_parameters(self) -> list[nn.Parameter]:
        """The parameters an optimizer updates, in neon's order."""
        raise NotImplementedError

    def neon_params(self) -> dict[str, np.ndarray]:
        """Parameters as numpy arrays in neon layout, keyed by neon's names."""
        raise NotImplementedError

    def state_to_neon(self, index: int, state: Tensor) -> np.ndarray:
        """An optimizer state of parameter ``index`` in neon layout (same layout as the param)."""
        raise NotImplementedError

    def _torch_tensors(self) -> dict[str, Tensor]:
        """neon parameter name -> the torch tensor holding it (torch layout)."""
        raise NotImplementedError

    def state_from_neon(self, index: int, array: np.ndarray) -> Tensor:
        """Inverse of :meth:`state_to_neon`: a new tensor like optimized parameter ``index``
        (its torch layout, dtype and device), converted through :meth:`_param_to_torch`.

        Raises:
            ShapeMismatchError: ``array`` does not have the parameter's neon shape.
        """
        param = self.optimized_parameters()[index]
        key = next(k for k, t in self._torch_tensors().items() if t is param)
        expected = self.state_to_neon(index, param.detach()).shape
        array = np.asarray(array)
        if array.shape != expected:
            raise ShapeMismatchError(
                f"Layer {self.name!r} ({type(self).__name__}): an optimizer state of {key} must "
                f"have neon shape {expected}, got {array.shape}."
            )
        value = self._param_to_torch(key, array)
        return value.to(device=param.device, dtype=param.dtype, copy=True)

    def set_neon_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy neon-layout arrays (``neon_params()``'s keys) into the parameters.

        All shapes are checked before anything is copied, so a mismatch changes nothing.
        """
        self._check_allocated()
        targets = self._torch_tensors()
        unknown = sorted(set(params) - set(targets))
        if unknown:
            raise ShapeMismatchError(
                f"Layer {self.name!r} ({type(self).__name__}) has no parameter(s) {unknown}; "
                f"expected {sorted(targets)}."
            )
        current = self.neon_params()
        converted = {}
        for key, value in params.items():
            value = np.asarray(value)
            if value.shape != current[key].shape:
                raise ShapeMismatchError(
                    f"Layer {self.name!r} ({type(self).__name__}): expected {key} with neon "
                    f"shape {current[key].shape}, got {value.shape}."
                )
            converted[key] = self._param_to_torch(key, value)
        with torch.no_grad():
            for key, value in converted.items():
                targets[key].copy_(value)

    def _param_to_torch(self, key: str, value: np.ndarray) -> Tensor:
        """The neon-layout array of parameter ``key`` as a tensor in the torch tensor's layout.

        The default covers parameters whose neon layout is a reshape of the torch one; layers
        with other layouts (convolutions) override it through :mod:`neon_torch.layout`.
        """
        target = self._torch_tensors()[key]
        return torch.as_tensor(value, dtype=target.dtype).reshape(target.shape)

    def _new_parameter(self, neon_values: np.ndarray, to_torch: Any) -> nn.Parameter:
        be = current_backend()
        values = np.ascontiguousarray(to_torch(np.asarray(neon_values, dtype=be.datatype)))
        return nn.Parameter(torch.tensor(values, dtype=be.torch_dtype, device=be.device))

    def _fill(self, init: Any, shape: tuple[int, ...]) -> np.ndarray:
        """Draw initial values of neon-layout ``shape`` (an initializer or a raw array)."""
        be = current_backend()
        if claim_parameters(self, shape):
            return np.zeros(shape, dtype=be.datatype)
        if hasattr(init, "generate"):
            return np.asarray(init.generate(shape, be.rng)).astype(be.datatype)
        if init is None:
            raise LayerConfigError(
                f"Layer {self.name!r} ({type(self).__name__}) has no initializer; pass init= "
                "(e.g. Gaussian(scale=0.01)) when building it."
            )
        values = np.asarray(init, dtype=be.datatype)
        if values.shape != shape:
            raise ShapeMismatchError(
                f"Layer {self.name!r}: an array init must have neon shape {shape}, "
                f"got {values.shape}."
            )
        return values

    def neon_states(self) -> list[Any]:
        """Optimizer states in neon layout, structured as neon serializes them."""
        per_param = [
            [self.state_to_neon(i, s) for s in states] for i, states in enumerate(self.states)
        ]
        if self._nested_states:
            n = len(self.optimized_parameters())
            return per_param + [[] for _ in range(n - len(per_param))]
        return per_param[0] if per_param else []

    def layer_description(self, get_weights: bool = False, keep_states: bool = False) -> dict:
        desc = self.get_description()
        if get_weights:
            desc["params"] = self.neon_params()
            if keep_states:
                desc["states"] = self.neon_states()
        return desc

    def _check_allocated(self) -> None:
        if not self._allocated:
            raise NotConfiguredError(
                f"Layer {self.name!r} has no parameters yet. Call model.initialize(dataset) "
                "(or layer.configure(in_shape); layer.allocate()) first."
            )
