"""Layer base classes: neon's two-phase set-up (``configure``, then ``allocate``) on nn.Module."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ..backends.backend import NervanaObject, current_backend
from ..backends.tensor import Tensor as NeonTensor
from ..backends.tensor import as_torch
from ..errors import (
    LayerConfigError,
    NotConfiguredError,
    ShapeMismatchError,
    UnsupportedNeonFeature,
)
from ..layout import batch_first_to_neon, is_sequence_shape, neon_to_batch_first
from ._neon_style import NeonLayerFunction, register_neon_params

__all__ = [
    "Layer",
    "ParameterLayer",
    "Shape",
    "WeightLayer",
    "claim_parameters",
    "flatten_layers",
    "parameter_limit",
    "resolve_in_shape",
    "to_numpy",
]

Shape = int | tuple[int, ...]

_LIMIT: ContextVar[list[int] | None] = ContextVar("neon_torch_parameter_limit", default=None)


@contextlib.contextmanager
def parameter_limit(elements: int, source: str) -> Iterator[None]:
    """Within the block, parameters are created as zeros (the caller then fills every one of
    them, from a file) and may hold at most ``elements`` values in all, so a description that
    declares larger layers than its file holds fails before the memory is taken."""
    token = _LIMIT.set([elements, source])  # type: ignore[list-item]  # [count, source] pair
    try:
        yield
    finally:
        _LIMIT.reset(token)


def to_numpy(t: Tensor) -> np.ndarray:
    """A host copy of ``t`` as a numpy array."""
    return t.detach().cpu().numpy().copy()


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
    #: True for subclasses written against neon's API: they define ``fprop`` (and ``bprop``)
    #: on backend Tensors instead of a torch ``forward`` (see :mod:`._neon_style`)
    _neon_style: ClassVar[bool] = False

    if TYPE_CHECKING:
        # Registered buffers, sub-modules and the attributes neon-style layers set are read
        # through nn.Module.__getattr__, which torch types as ``Tensor | Module``; they are
        # whatever the layer stored, so the checker takes them as Any.
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._neon_style = cls.forward is Layer.forward and cls.fprop is not Layer.fprop

    def __init__(self, name: str | None = None, parallelism: str = "Unknown") -> None:
        nn.Module.__init__(self)
        NervanaObject.__init__(self, name)
        self.parallelism = parallelism
        # per-sample shapes, set by configure() (None until then)
        self.in_shape: Shape = None  # type: ignore[assignment]  # until configure()
        self.out_shape: Shape = None  # type: ignore[assignment]  # until configure()
        if self._neon_style:  # the attributes neon's Layer constructor sets
            self.__dict__.update(prev_layer=None, owns_delta=False, has_params=False)

    # -- neon life cycle -----------------------------------------------------------------
    def configure(self, in_obj: Any) -> Layer:
        """Record the input shape from a shape, a previous layer or a dataset; set ``out_shape``.

        A backend Tensor ``(F, bsz)`` (or ``(F, T·bsz)``) also gives a shape, as in neon.
        """
        if isinstance(in_obj, NeonTensor):
            bsz = max(current_backend().bsz, 1)
            steps = in_obj.shape[1] // bsz
            in_obj = in_obj.shape[0] if steps == 1 else (in_obj.shape[0], steps)
        if self._neon_style:  # neon's layers know the layer before them (not a submodule)
            self.__dict__["prev_layer"] = in_obj if isinstance(in_obj, Layer) else None
        self.in_shape = resolve_in_shape(in_obj)
        self.out_shape = self.in_shape
        return self

    def allocate(self, shared_outputs: Any = None) -> None:
        """Create parameters (none by default). Idempotent.

        A layer written against neon's API (it defines ``fprop``/``bprop``) gets neon's
        buffers here: ``outputs = be.iobuf(out_shape)`` when it owns its output, and, when it
        owns its deltas and has a layer before it, ``deltas = be.iobuf(in_shape)``.
        """
        if not self._neon_style:
            return
        be = current_backend()
        if self.outputs is None and self.owns_output:
            self.outputs = be.iobuf(self.out_shape, shared=shared_outputs)
        if self.deltas is None and self.owns_delta and self.prev_layer is not None:
            self.deltas = be.iobuf(self.in_shape)

    def forward(self, x: Tensor) -> Tensor:
        """For a neon-style subclass: its ``fprop`` forward and its ``bprop`` backward, as one
        autograd node over batch-first tensors (:class:`._neon_style.NeonLayerFunction`)."""
        if not self._neon_style:
            raise UnsupportedNeonFeature(
                f"{type(self).__name__} defines neither forward() nor neon's fprop()/bprop(); "
                "implement forward(x) on batch-first tensors or fprop/bprop on backend Tensors."
            )
        params = self.__dict__.get("_neon_registered", ())
        return NeonLayerFunction.apply(self, x, *params)

    # -- neon's buffers ------------------------------------------------------------------
    @property
    def inputs(self) -> Any:
        """The last input as a backend Tensor in neon's ``(features, batch)`` layout (set by a
        neon-style layer itself; recorded for layers run by a ``Sequential``). A view of the
        batch-first tensor where the layouts allow, otherwise a copy; None before a forward."""
        return self._neon_buffer("_inputs", "_fwd_in", self.in_shape)

    @inputs.setter
    def inputs(self, value: Any) -> None:
        self.__dict__["_inputs"] = value

    @property
    def outputs(self) -> Any:
        """The last output as a backend Tensor in neon's layout (see :attr:`inputs`): e.g.
        ``(C·H·W, N)`` for images, ``(F, T·N)`` for sequences."""
        return self._neon_buffer("_outputs", "_fwd_out", self.out_shape)

    @outputs.setter
    def outputs(self, value: Any) -> None:
        self.__dict__["_outputs"] = value

    @property
    def deltas(self) -> Any:
        """neon's error for the layer's input: the buffer a neon-style layer fills in
        ``bprop`` (None for built-in layers, whose input errors stay inside autograd)."""
        return self.__dict__.get("_deltas")

    @deltas.setter
    def deltas(self, value: Any) -> None:
        self.__dict__["_deltas"] = value

    def _neon_buffer(self, assigned: str, recorded: str, shape: Any) -> Any:
        d = self.__dict__
        value = d.get(assigned)
        if value is not None:
            return value
        raw = d.get(recorded)
        if raw is None or shape is None:
            return None
        if isinstance(raw, (list, tuple)):
            shapes = shape if isinstance(shape, list) else [shape] * len(raw)
            pairs = zip(raw, shapes, strict=True)
            return [NeonTensor(batch_first_to_neon(v.detach(), s)) for v, s in pairs]
        return NeonTensor(batch_first_to_neon(raw.detach(), shape))

    def __getstate__(self) -> dict[str, Any]:
        # the recorded activations belong to the last forward, not to the layer's state
        state = dict(self.__dict__)
        state.pop("_fwd_in", None)
        state.pop("_fwd_out", None)
        return state

    def fprop(self, inputs: Any, inference: bool = False) -> Any:
        """neon's forward call: ``inference=True`` selects inference behaviour (``eval()``).

        ``inputs`` is a batch-first torch tensor (the output is one too) or a backend Tensor
        in neon's ``(features, batch)`` layout for this layer's ``in_shape``: the output is
        then a backend Tensor in neon's layout, and after a training call :meth:`bprop`
        back-propagates a neon error through this layer, as neon's layer API does.
        """
        if self.training == inference:
            self.train(not inference)
        if isinstance(inputs, NeonTensor):
            return self._fprop_neon(inputs, inference)
        if inference:
            with torch.no_grad():
                return self(inputs)
        return self(inputs)

    def _fprop_neon(self, inputs: NeonTensor, inference: bool) -> NeonTensor:
        shape = self._require_in_shape()
        x = neon_to_batch_first(inputs.torch, shape).contiguous()
        if not inference and x.is_floating_point():
            x.requires_grad_()
        with torch.set_grad_enabled(not inference):
            y = self(x)
        self.__dict__["_neon_step"] = None if inference else (x, y)
        return NeonTensor(batch_first_to_neon(y.detach(), self.out_shape))

    def bprop(self, error: Any) -> Any:
        """neon's backward call after a training :meth:`fprop` of a backend Tensor: ``error``
        (neon's layout, summed over the batch) goes into the parameters' ``.grad`` (``dW``)
        and the error for the input comes back as a backend Tensor (None for integer inputs).
        """
        step = self.__dict__.get("_neon_step")
        if step is None:
            raise NotConfiguredError(
                f"Layer {self.name!r}: bprop needs a preceding fprop(backend Tensor, "
                "inference=False) on this layer."
            )
        x, y = step
        self.__dict__["_neon_step"] = None
        grad = neon_to_batch_first(as_torch(error, y), self.out_shape).reshape(y.shape)
        y.backward(grad.to(y.dtype))
        if x.grad is None:
            return None
        return NeonTensor(batch_first_to_neon(x.grad, self.in_shape))

    def _require_in_shape(self) -> Shape:
        if self.in_shape is None:
            raise NotConfiguredError(
                f"Layer {self.name!r} is not configured. Call layer.configure(in_shape) first."
            )
        return self.in_shape

    # -- neon introspection --------------------------------------------------------------
    @property
    def nout(self) -> int:
        """Features per sample (per step for sequences) of the output; a subclass may assign
        it (``self.nout = nout`` in its constructor, as neon's layers do)."""
        assigned = self.__dict__.get("_nout")
        if assigned is not None:
            return assigned
        shape = self._require_shape()
        if isinstance(shape, int):
            return shape
        return shape[0] if is_sequence_shape(shape) else shape_size(shape)

    @nout.setter
    def nout(self, value: int) -> None:
        self.__dict__["_nout"] = value

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
        if self._neon_style:  # neon's ParameterLayer attributes
            self.__dict__.update(W=None, dW=None, weight_shape=None, owns_delta=True)
            self.__dict__["has_params"] = True

    @property
    def is_parametric(self) -> bool:
        return True

    # -- neon's extension API ------------------------------------------------------------
    def allocate(self, shared_outputs: Any = None, accumulate_updates: bool = False) -> None:
        """Create the parameters. A neon-style subclass gets neon's buffers (see
        :meth:`Layer.allocate`) and ``init_params(weight_shape)`` unless ``W`` exists; its
        ``get_params()`` weights become ``nn.Parameter`` objects sharing their storage."""
        if not self._neon_style or self._allocated:
            return
        super().allocate(shared_outputs)
        if self.W is None:
            self.init_params(self.weight_shape)
        register_neon_params(self)
        self._allocated = True

    def init_params(self, shape: Any) -> None:
        """neon: ``W = be.empty(shape)`` filled by ``init`` (an initializer or an array),
        ``dW = be.zeros_like(W)``, no optimizer states yet."""
        be = current_backend()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.W = be.array(self._fill(self.init, shape))
        self.dW = be.zeros_like(self.W)
        self.states = []

    def get_params(self) -> Any:
        """neon's ``((W, dW), states)`` per optimized parameter: backend Tensors in neon
        layout that share storage with the parameters and their ``.grad`` (``dW`` is None
        before the first backward pass). A neon-style subclass returns its own ``W``/``dW``
        and ``states`` as one tuple, as neon's ParameterLayer does."""
        if self._neon_style:
            return ((self.W, self.dW), self.states)
        out = []
        keys = {id(t): k for k, t in self._torch_tensors().items()}
        for i, param in enumerate(self.optimized_parameters()):
            key = keys.get(id(param))  # None: a parameter files do not hold
            while len(self.states) <= i:
                self.states.append([])
            grad = None if param.grad is None else self._neon_view(key, param.grad)
            out.append(((self._neon_view(key, param.detach()), grad), self.states[i]))
        return out

    def _neon_layout(self, key: str | None, t: Tensor) -> Tensor:
        """Parameter ``key``'s torch tensor ``t`` (or its gradient or an optimizer state) in
        neon's layout, a view where one exists: the one rule behind ``W``/``dW``,
        ``get_params``, ``neon_params`` and ``state_to_neon``. The default covers layouts
        that are a reshape: vectors become ``(F, 1)`` columns, matrices stay as they are;
        layers with other layouts (convolutions) override it through :mod:`neon_torch.layout`.
        ``key`` is None for a parameter that files do not hold (a BiBNRNN's gamma and beta)."""
        return t.reshape(-1, 1) if t.dim() == 1 else t

    def _neon_view(self, key: str | None, t: Tensor) -> NeonTensor:
        """:meth:`_neon_layout` of ``t`` as a backend Tensor sharing its storage."""
        return NeonTensor(self._neon_layout(key, t))

    def _neon_param(self, key: str) -> NeonTensor | None:
        """The neon view of parameter ``key`` (None before allocation)."""
        t = self._torch_tensors().get(key) if self._allocated else None
        return None if t is None else self._neon_view(key, t.detach())

    def _neon_grad(self, key: str) -> NeonTensor | None:
        """The neon view of parameter ``key``'s ``.grad`` (None before a backward pass)."""
        t = self._torch_tensors().get(key) if self._allocated else None
        return None if t is None or t.grad is None else self._neon_view(key, t.grad)

    def optimized_parameters(self) -> list[nn.Parameter]:
        """The parameters an optimizer updates, in neon's order."""
        if self._neon_style:
            self._check_allocated()
            return list(self.__dict__.get("_neon_registered", ()))
        raise NotImplementedError

    def neon_params(self) -> dict[str, np.ndarray]:
        """Parameters as numpy arrays in neon layout, keyed by neon's names (the tensors of
        :meth:`_torch_tensors` through :meth:`_neon_layout`)."""
        self._check_allocated()
        if self._neon_style:
            return {"W": self.W.get()}
        return {k: to_numpy(self._neon_layout(k, t)) for k, t in self._torch_tensors().items()}

    def state_to_neon(self, index: int, state: Any) -> np.ndarray:
        """An optimizer state of parameter ``index`` in neon layout (same layout as the param)."""
        if isinstance(state, NeonTensor):
            return state.get()
        if self._neon_style:
            return state.detach().cpu().numpy().copy()
        param = self.optimized_parameters()[index]
        key = next((k for k, t in self._torch_tensors().items() if t is param), None)
        return to_numpy(self._neon_layout(key, state))

    def _torch_tensors(self) -> dict[str, Tensor]:
        """neon parameter name -> the torch tensor holding it (torch layout)."""
        if self._neon_style:
            registered = self.__dict__.get("_neon_registered")
            return {"W": registered[0]} if registered else {}
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
        expected = self._neon_shapes()
        converted = {}
        for key, value in params.items():
            value = np.asarray(value)
            if value.shape != expected[key]:
                raise ShapeMismatchError(
                    f"Layer {self.name!r} ({type(self).__name__}): expected {key} with neon "
                    f"shape {expected[key]}, got {value.shape}."
                )
            converted[key] = self._param_to_torch(key, value)
        with torch.no_grad():
            for key, tensor in converted.items():
                targets[key].copy_(tensor)

    def _neon_shapes(self) -> dict[str, tuple[int, ...]]:
        """The neon shape of each of :meth:`neon_params`' arrays, read without copying any
        data (the layout is applied to data-less ``meta`` tensors: checking a large layer's
        shapes must not double its memory)."""
        if self._neon_style:
            return {k: v.shape for k, v in self.neon_params().items()}
        return {
            k: tuple(self._neon_layout(k, t.detach().to("meta")).shape)
            for k, t in self._torch_tensors().items()
        }

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
        if self._neon_style and not any(isinstance(s, list) for s in self.states):
            return [self.state_to_neon(0, s) for s in self.states]  # neon's flat list
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


def flatten_layers(layers: Any) -> list[Layer]:
    """Flatten nested lists and compound layers into a list of layers (neon's rule)."""
    out: list[Layer] = []
    for item in layers if isinstance(layers, (list, tuple)) else [layers]:
        if isinstance(item, (list, tuple)):
            out.extend(flatten_layers(item))
        elif isinstance(item, Layer):
            out.append(item)
        else:
            raise TypeError(
                f"Expected a neon_torch layer or a list of layers, got {type(item).__name__}."
            )
    return out


class WeightLayer(ParameterLayer):
    """A layer whose one parameter, ``weight``, has neon's ``W`` layout as it is (Linear's
    ``(nout, nin)``, LookupTable's ``(vocab, embedding)``); subclasses create ``weight``."""

    weight: nn.Parameter  # None until allocate()

    def optimized_parameters(self) -> list[nn.Parameter]:
        self._check_allocated()
        return [self.weight]

    def _torch_tensors(self) -> dict[str, Tensor]:
        return {"W": self.weight}

    @property
    def W(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's ``W`` as a backend Tensor sharing the weight's storage (writes change it)."""
        return self._neon_param("W")

    @property
    def dW(self) -> NeonTensor | None:  # type: ignore[override]  # read-only view of the parameter
        """neon's ``dW``: the weight's ``.grad`` (summed over the minibatch), or None."""
        return self._neon_grad("W")
