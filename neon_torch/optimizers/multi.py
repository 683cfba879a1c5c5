"""neon's ``MultiOptimizer``: different optimizers for different layers."""

from __future__ import annotations

from typing import Any

from ..registry import neon_type, type_string
from .optimizer import Optimizer

__all__ = ["MultiOptimizer"]


@neon_type("neon.optimizers.optimizer.MultiOptimizer", "neon.optimizers.MultiOptimizer")
class MultiOptimizer(Optimizer):
    """Route each layer to one optimizer of ``optimizer_mapping``.

    Keys are layer names, layer class names (``'Linear'``, ``'Bias'``, ``'BatchNorm'``, ...) or
    ``'default'``. A layer uses, in this order of precedence, the entry for its ``name``, the
    entry for its exact class name (no base classes), else ``'default'``.

    neon semantics kept: every optimizer is called once per update with the layers mapped to it
    (in the order in which the optimizers first appear in the layer list), so
    ``gradient_clip_norm`` is computed per optimizer and Adam's ``t`` advances once per update.
    The same optimizer object under several keys forms a single group.

    neon requires a ``'default'`` entry; neon_torch only requires it when a layer matches no
    other key, and then raises ValueError naming that layer.

    Torch adapter: in :meth:`as_torch_optimizer` each param group picks its optimizer by its
    ``'key'`` entry (e.g. ``{'params': ..., 'key': 'Bias'}``); groups without one use
    ``'default'``.
    """

    def __init__(self, optimizer_mapping: dict[str, Any], name: str | None = None) -> None:
        if not isinstance(optimizer_mapping, dict) or not optimizer_mapping:
            raise ValueError(
                "MultiOptimizer: optimizer_mapping must be a non-empty dict {key: optimizer}, "
                f"got {optimizer_mapping!r}."
            )
        for key, opt in optimizer_mapping.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"MultiOptimizer: optimizer_mapping keys must be strings (a layer name, a "
                    f"layer class name or 'default'), got {key!r}."
                )
            if not isinstance(opt, Optimizer):
                raise ValueError(
                    f"MultiOptimizer: optimizer_mapping[{key!r}] must be a neon_torch "
                    f"optimizer, got {opt!r}."
                )
        super().__init__(name)
        self.optimizer_mapping = optimizer_mapping
        self._map_cache: dict[tuple[int, ...], list[tuple[Optimizer, list[Any]]]] = {}

    def _optimizer_for(self, layer: Any) -> Optimizer:
        mapping = self.optimizer_mapping
        classname = type(layer).__name__
        for key in (getattr(layer, "name", None), classname, "default"):
            if key in mapping:
                return mapping[key]
        raise ValueError(
            f"MultiOptimizer: layer {layer.name!r} ({classname}) matches no key of "
            f"optimizer_mapping {sorted(mapping)}; add a 'default' optimizer or a key for "
            "that layer's name or class."
        )

    def map_layers(self, layer_list: list[Any]) -> list[tuple[Optimizer, list[Any]]]:
        """``[(optimizer, its layers), ...]`` for ``layer_list``; cached per layer list."""
        key = tuple(id(layer) for layer in layer_list)
        groups = self._map_cache.get(key)
        if groups is None:
            by_opt: dict[int, tuple[Optimizer, list[Any]]] = {}
            for layer in layer_list:
                opt = self._optimizer_for(layer)
                by_opt.setdefault(id(opt), (opt, []))[1].append(layer)
            groups = list(by_opt.values())
            self._map_cache = {key: groups}
        return groups

    def _reset_mapping(self, new_mapping: dict[str, Any]) -> None:
        """Replace the mapping; the layer assignment is recomputed on the next update."""
        self.optimizer_mapping = new_mapping
        self._map_cache = {}

    def optimize(self, layer_list: list[Any], epoch: int) -> None:
        """Call every mapped optimizer once with its layers."""
        for opt, layers in self.map_layers(layer_list):
            opt.optimize(layers, epoch)

    def rule_for_group(self, group: dict) -> Optimizer:
        key = group.get("key")
        mapping = self.optimizer_mapping
        if key not in mapping:
            if "default" not in mapping:
                raise ValueError(
                    f"MultiOptimizer: param group key {key!r} is not in optimizer_mapping "
                    f"{sorted(mapping)} and there is no 'default' entry."
                )
            key = "default"
        return mapping[key].rule_for_group(group)

    def extra_state(self) -> dict[str, Any]:
        out = {}
        for key, opt in self.optimizer_mapping.items():
            state = opt.extra_state()
            if state:
                out[key] = state
        return out

    def load_extra_state(self, state: dict[str, Any]) -> None:
        for key, sub in state.items():
            self.optimizer_mapping[key].load_extra_state(sub)

    def get_description(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """neon's form: ``{'type', 'config': {'optimizer_mapping': {key: description}}}``."""
        return {
            "type": type_string(type(self)),
            "config": {
                "optimizer_mapping": {
                    key: opt.get_description() for key, opt in self.optimizer_mapping.items()
                }
            },
        }
