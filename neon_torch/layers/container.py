"""Layer containers: ``LayerContainer`` and ``Sequential``."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from ..convert._convert import sequence_module
from ..errors import NotConfiguredError
from ..registry import neon_type
from ._base import Layer, ParameterLayer, flatten_layers

__all__ = ["LayerContainer", "Sequential"]


def _layer_list(layers: Iterable[Layer]) -> Sequence[Layer]:
    """``nn.ModuleList(layers)`` (registers the children), typed as the Layers it holds."""
    return cast("Sequence[Layer]", nn.ModuleList(layers))


class LayerContainer(Layer):
    """Base of containers: holds child layers in an ``nn.ModuleList`` named ``layers``."""

    layers: Sequence[Layer]  # an nn.ModuleList of Layers (see _layer_list)

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]:
        """The parameters (``torch.nn.Module.parameters``); before the shapes are known (no
        ``configure`` yet, so no parameters exist) this raises instead of yielding nothing,
        since a torch optimizer built over an empty list would train nothing."""
        params = list(super().parameters(recurse))
        if not params and self.out_shape is None:
            raise NotConfiguredError(
                f"{type(self).__name__} {self.name!r} has no parameters yet: neon_torch, like "
                "neon, creates them from the first data. Call model.initialize(dataset, cost) "
                "before building a torch.optim optimizer over model.module.parameters(), or "
                "pass fit(optimizer=functools.partial(torch.optim.SGD, lr=0.1)) and fit builds "
                "it."
            )
        return iter(params)

    def layers_to_optimize(self) -> list[ParameterLayer]:
        """Parameter layers depth-first in container order, skipping frozen ones.

        neon semantics: a layer whose initializer is named ``"Identity"`` (``IdentityInit``) is
        never optimized.
        """
        out: list[ParameterLayer] = []
        for layer in self.layers:
            if isinstance(layer, LayerContainer):
                out.extend(layer.layers_to_optimize())
            elif isinstance(layer, ParameterLayer):
                if getattr(layer.init, "name", None) != "Identity":
                    out.append(layer)
        return out

    def layer_description(self, get_weights: bool = False, keep_states: bool = False) -> dict:
        desc = self.get_description(skip=("layers",))
        desc["config"]["layers"] = [
            child.layer_description(get_weights, keep_states) for child in self.layers
        ]
        desc["container"] = True
        return desc

    def nested_str(self, level: int = 0) -> str:
        # neon's layout: each child starts on a new line indented by this container's level
        # and renders itself at level + 1 (so nested containers indent by 4 per level)
        pad = "\n" + "  " * level
        children = pad.join(child.nested_str(level + 1) for child in self.layers)
        return "  " * level + type(self).__name__ + pad + children

    def __str__(self) -> str:
        return self.nested_str()


@neon_type("neon.layers.container.Sequential", "neon.layers.Sequential")
class Sequential(LayerContainer):
    """Layers applied one after the other; nested lists and compound layers are flattened.

    neon semantics: ``allocate`` first allocates the **last layer that owns its output**, then
    every layer in order. That is the order in which initializers draw from ``be.rng``, which
    makes initial weights equal to neon's.

    Shape:
        input ``(N, *in_shape)`` of the first layer; output of the last layer.
    """

    def __init__(self, layers: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.layers = _layer_list(flatten_layers(layers))
        if len(self.layers) == 0:
            raise ValueError("Sequential needs at least one layer, got an empty list.")
        self._delta_memory: Any = None

    def configure(self, in_obj: Any) -> Sequential:
        super().configure(in_obj)
        prev: Any = in_obj
        for layer in self.layers:
            layer.configure(prev)
            prev = layer
        self.out_shape = self.layers[-1].out_shape
        self._delta_memory = self._neon_error_buffers()
        return self

    def _neon_error_buffers(self) -> Any:
        """neon's shared error buffers, simulated when a split BiLSTM makes them visible
        (see :mod:`neon_torch.layers.recurrent._delta_memory`)."""
        from .recurrent._delta_memory import DeltaMemory
        from .recurrent.birnn import BiLSTM

        if not any(isinstance(layer, BiLSTM) and layer.split_inputs for layer in self.layers):
            return None
        memory = DeltaMemory(list(self.layers))
        for layer in self.layers:
            if hasattr(layer, "delta_memory"):  # layers that update their error in place
                layer.delta_memory = weakref.ref(memory)
        return memory

    def allocate(self) -> None:  # type: ignore[override]  # torch-style: no neon output buffers
        owners = [layer for layer in self.layers if layer.owns_output]
        if owners:
            owners[-1].allocate()
        for layer in self.layers:
            layer.allocate()

    def forward(self, x: Tensor) -> Tensor:
        if torch.compiler.is_compiling():
            for layer in self.layers:
                x = layer(x)
            return x
        memory = self._delta_memory  # neon's shared delta buffers (DeepBiLSTM stacks)
        track = memory is not None and torch.is_grad_enabled() and memory.active
        for layer in self.layers:
            if track:
                x = memory.track(layer, x)
            # neon's layer.inputs / layer.outputs (read in neon layout on access)
            state = layer.__dict__
            state["_fwd_in"] = x
            x = layer(x)
            state["_fwd_out"] = x
        return x

    def to_torch(self) -> nn.Module:
        """An ``nn.Sequential`` of the children's plain modules, named after the layers."""
        return sequence_module(self.layers)
