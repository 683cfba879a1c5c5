"""What the golden tests share: the recording callback, fixture-key parsing, description shapes."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.callbacks import Callback
from neon_torch.layout import batch_first_to_neon, neon_to_batch_first

__all__ = [
    "Recorder",
    "check_initial_weights",
    "check_per_layer_outputs",
    "fresh_name_counters",
    "keyed",
    "structure",
]


class Recorder(Callback):
    """Records what neon's fixture generator recorded, at the same hook, in neon layout:
    the cost of every minibatch, each optimized parameter and its gradient after the step, and
    the epoch costs."""

    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []
        self.params: list[dict[str, list[np.ndarray]]] = []
        self.grads: list[dict[str, list[np.ndarray]]] = []
        self.epoch_costs: list[float] = []

    def on_minibatch_end(self, callback_data: dict, model: Any, epoch: int, minibatch: int):
        self.costs.append(model.cost.cost.item())
        params, grads = {}, {}
        for layer in model.layers_to_optimize:  # in neon layout, get_params order
            tensors = layer.optimized_parameters()
            params[layer.name] = [layer.state_to_neon(i, p) for i, p in enumerate(tensors)]
            grads[layer.name] = [layer.state_to_neon(i, p.grad) for i, p in enumerate(tensors)]
        self.params.append(params)
        self.grads.append(grads)

    def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
        self.epoch_costs.append(model.total_cost.item())


def fresh_name_counters() -> None:
    """Name counters as in a fresh process: a class with no live object forgets its own
    counter, so it counts from its nearest ancestor's again, as a class never instantiated
    (neon's counters go down when objects die, but not back to where a fresh process starts)."""
    from neon_torch.backends.backend import NervanaObject

    gc.collect()
    live = {t for t in map(type, gc.get_objects()) if issubclass(t, NervanaObject)}
    todo = list(NervanaObject.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "_name_counter" in cls.__dict__ and cls not in live:
            del cls._name_counter


def keyed(ref: Any, prefix: str) -> dict[tuple[str, int], np.ndarray]:
    """Fixture arrays ``'<prefix>/<layer name>/<param index>'`` keyed by (name, index)."""
    out = {}
    for key in ref.files:
        if key.startswith(prefix + "/"):
            _, name, index = key.split("/")
            out[(name, int(index))] = ref[key]
    return out


def structure(node: Any) -> Any:
    """A description with arrays replaced by (shape, dtype) and the fixture's JSON type tags
    unwrapped, for comparing neon's dumped description structures."""
    if isinstance(node, np.ndarray):
        return ("array", tuple(node.shape), str(node.dtype))
    if isinstance(node, dict):
        if "__ndarray__" in node:
            return ("array", tuple(node["__ndarray__"]), node["dtype"])
        if "__list__" in node:
            return [structure(v) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(structure(v) for v in node["__tuple__"])
        return {k: structure(v) for k, v in node.items() if k != "rng_state"}
    if isinstance(node, (list, tuple)):
        return type(node)(structure(v) for v in node)
    if isinstance(node, float):
        return round(node, 6)
    return node


def check_per_layer_outputs(ref: Any, model: Any) -> None:
    """neon pushed its first eval minibatch through the trained top-level layers one by one
    (``layer_in/x``, ``layer_out/NN_<name>``); do the same and compare."""
    keys = sorted(k for k in ref.files if k.startswith("layer_out/"))
    if not keys:
        pytest.skip("neon dumped no per-layer outputs for this case")
    layers = list(model.layers.layers)
    assert [k.split("/")[1].split("_", 1)[1] for k in keys] == [layer.name for layer in layers]
    x = torch.as_tensor(neon_to_batch_first(ref["layer_in/x"], model.layers.in_shape))
    for key, layer in zip(keys, layers, strict=True):
        x = layer.fprop(x, inference=True)
        got = batch_first_to_neon(x, layer.out_shape).numpy()
        np.testing.assert_allclose(got, ref[key], rtol=1e-5, atol=2e-6, err_msg=key)


def check_initial_weights(ref: Any, init: dict[str, list[np.ndarray]]) -> None:
    """The seeded initial weights (neon layout, by layer name and parameter index) equal
    neon's ``param_init`` bit for bit."""
    expected = keyed(ref, "param_init")
    assert expected, "fixture has no initial weights"
    for (name, index), value in expected.items():
        got = init[name][index]
        assert got.dtype == value.dtype
        assert np.array_equal(got, value), f"{name}/{index} differs from neon's seeded init"
