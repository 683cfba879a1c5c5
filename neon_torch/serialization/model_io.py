"""``Model``'s file methods: serialize, save_params, load_params, deserialize, Model(file).

neon semantics kept:

* ``serialize`` returns ``get_description(get_weights=True, keep_states)`` plus
  ``epoch_index`` (neon stores ``model.epoch_index + 1``) and ``train_input_shape``;
* weights are matched **by position** (containers' layer lists, after normalising fused and
  unfused convolution biases); a model built in code takes only weights and states from a
  file, ``Model(file)`` / ``Model(dict)`` rebuilds the layers from the description first;
* ``load_states`` also restores the backend's RNG state; after loading a file written by neon,
  ``epoch_index`` is the stored value.

Done better than neon (documented in ``docs/prm_format.md``): neon_torch files also record
the exact number of completed epochs and what neon keeps only on the optimizer object
(``Adam.t``, a ``StepSchedule``'s stored rate), under the description key ``neon_torch``. On
loading them ``epoch_index`` is the number of completed epochs and the next ``fit`` with an
optimizer of the stored type resumes those counters, so a resumed run equals the
uninterrupted one. A load that fails changes nothing: the model's tensors, optimizer states,
``epoch_index`` and the RNG state are put back.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ..backends.backend import current_backend
from ..errors import NeonTorchError, PrmFormatError, ShapeMismatchError, UnknownNeonTypeError
from ..layers._base import Layer, ParameterLayer
from ..layers.container import LayerContainer
from . import legacy, prm_file
from .build import build_object, resolve
from .files import LoadedFile, read_file

__all__ = [
    "apply_pending",
    "layers_from",
    "load_into",
    "restore_optimizer_state",
    "save_params",
    "serialize",
]

_EXT = "neon_torch"


def serialize(model: Any, keep_states: bool = True) -> dict[str, Any]:
    """neon's ``Model.serialize()`` dict (arrays in neon layout) plus the ``neon_torch`` key."""
    tree = model.get_description(get_weights=True, keep_states=keep_states)
    tree["epoch_index"] = model.epoch_index + 1
    if model.initialized:
        tree["train_input_shape"] = model.layers.in_shape
    done = model.epoch_index + (1 if getattr(model, "_epoch_done", False) else 0)
    ext: dict[str, Any] = {"epochs_completed": done}
    optimizer = model.optimizer
    if keep_states and optimizer is not None and hasattr(optimizer, "extra_state"):
        ext["optimizer_state"] = optimizer.extra_state()
    tree[_EXT] = ext
    return tree


def save_params(model: Any, path: str | os.PathLike[str], keep_states: bool = True) -> None:
    """Write ``serialize(model, keep_states)`` to ``path`` as a neon_torch ``.prm`` (atomic)."""
    prm_file.write_prm(os.path.expanduser(os.fspath(path)), serialize(model, keep_states))


def _loaded(source: Any) -> LoadedFile:
    if isinstance(source, dict):
        return LoadedFile("description", "dict", legacy.normalize(source, "description"))
    return read_file(os.path.expanduser(os.fspath(source)))


def layers_from(source: Any) -> tuple[LayerContainer, LoadedFile]:
    """Rebuild the root container from a file path or description dict (``Model(file)``)."""
    loaded = _loaded(source)
    tree = loaded.tree
    if "model" not in tree:
        raise PrmFormatError(
            f"{loaded.path}: an old neon file (before neon 1.2) with weights only "
            "('layer_params_states'); build the model in code and call "
            "model.load_params(path) instead."
        )
    be = current_backend()
    compat = (tree.get("backend") or {}).get("compat_mode")
    if compat in ("neon", "caffe", None):
        be.compat_mode = None if compat in ("neon", None) else "caffe"
    root = build_object(tree["model"], loaded.path)
    if not isinstance(root, LayerContainer):
        raise PrmFormatError(
            f"{loaded.path}: the model's root is {tree['model']['type']}, not a container."
        )
    return root, loaded


def load_into(model: Any, source: Any, load_states: bool = True) -> None:
    """``load_params`` / ``deserialize``: weights (and states, RNG, counters) into ``model``."""
    loaded = source if isinstance(source, LoadedFile) else _loaded(source)
    if not model.initialized:
        shape = loaded.tree.get("train_input_shape")
        if shape is None or "model" not in loaded.tree:
            model._pending_load = (loaded, load_states)  # applied by model.initialize
            _apply_counters(model, loaded, load_states)
            return
        model.layers.configure(_shape(shape, model))
        _allocate_quietly(model)
        try:  # the weights are new: nothing to copy back if the load fails
            _transaction(model, loaded, load_states, keep_tensors=False)
        except BaseException:
            model.initialized = False
            raise
        model.initialized = True
        return
    _transaction(model, loaded, load_states)


def apply_pending(model: Any) -> None:
    """Allocate (without drawing from the RNG) and load what ``load_into`` deferred."""
    loaded, load_states = model._pending_load
    model._pending_load = None
    _allocate_quietly(model)
    _transaction(model, loaded, load_states, keep_tensors=False)


def restore_optimizer_state(model: Any, optimizer: Any) -> None:
    """Give ``optimizer`` the counters saved with the checkpoint, if it is of the stored type."""
    pending = getattr(model, "_pending_optimizer", None)
    if pending is None or not hasattr(optimizer, "load_extra_state"):
        return
    model._pending_optimizer = None
    stored_type, state = pending
    try:
        same = resolve(str(stored_type)) is type(optimizer)
    except UnknownNeonTypeError:
        same = False
    if same and state:
        optimizer.load_extra_state(state)


# -- internals ------------------------------------------------------------------------------
def _shape(value: Any, model: Any) -> Any:
    """The stored ``train_input_shape`` as ``configure`` takes it: a list of per-stream shapes
    when the model reads several streams (a ``MergeMultistream`` first), else one shape."""
    from ..layers.merge import MergeMultistream

    first = next(iter(getattr(model.layers, "layers", [])), None)
    if isinstance(first, MergeMultistream) and isinstance(value, (list, tuple)):
        return [tuple(s) if isinstance(s, (list, tuple)) else s for s in value]
    return tuple(value) if isinstance(value, list) else value


def _allocate_quietly(model: Any) -> None:
    """Allocate parameters without consuming the RNG (neon creates them from the file)."""
    be = current_backend()
    state = be.rng_get_state()
    model.layers.allocate()
    be.rng_set_state(state)


def _snapshot(model: Any, keep_tensors: bool) -> dict[str, Any]:
    layers = _parameter_layers(model.layers)
    tensors = model.layers.state_dict(keep_vars=True).values() if keep_tensors else ()
    return {
        "tensors": [(t, t.detach().clone()) for t in tensors],
        "states": [(layer, [list(s) for s in layer.states]) for layer in layers],
        "epoch_index": model.epoch_index,
        "rng": current_backend().rng_get_state(),
        "pending_optimizer": getattr(model, "_pending_optimizer", None),
    }


def _restore(model: Any, snap: dict[str, Any]) -> None:
    with torch.no_grad():
        for tensor, saved in snap["tensors"]:
            tensor.copy_(saved)
    for layer, states in snap["states"]:
        del layer.states[len(states) :]
        for i, saved in enumerate(states):
            layer.states[i][:] = saved
    model.epoch_index = snap["epoch_index"]
    current_backend().rng_set_state(snap["rng"])
    model._pending_optimizer = snap["pending_optimizer"]


def _transaction(
    model: Any, loaded: LoadedFile, load_states: bool, keep_tensors: bool = True
) -> None:
    """Load, or restore what was there before (tensors only with ``keep_tensors``: a model
    whose weights were just created has none worth keeping, and a copy costs memory)."""
    snap = _snapshot(model, keep_tensors)
    try:
        if "model" in loaded.tree:
            _match(loaded.tree["model"], model.layers, loaded.path, load_states)
        else:
            _load_old_format(model, loaded, load_states)
        _apply_counters(model, loaded, load_states)
    except BaseException:
        _restore(model, snap)
        raise


def _apply_counters(model: Any, loaded: LoadedFile, load_states: bool) -> None:
    tree = loaded.tree
    ext = tree.get(_EXT) if loaded.kind in ("neon_torch", "dict") else None
    if isinstance(ext, dict) and "epochs_completed" in ext:
        model.epoch_index = int(ext["epochs_completed"])
    elif "epoch_index" in tree:
        model.epoch_index = int(tree["epoch_index"])
    if not load_states:
        return
    rng_state = (tree.get("backend") or {}).get("rng_state")
    if rng_state is not None:
        try:
            current_backend().rng_set_state(tuple(rng_state))
        except (TypeError, ValueError) as err:
            raise PrmFormatError(f"{loaded.path}: invalid backend rng_state ({err}).") from None
    optimizer = tree.get("optimizer")
    if isinstance(ext, dict) and ext.get("optimizer_state") and isinstance(optimizer, dict):
        model._pending_optimizer = (optimizer.get("type"), ext["optimizer_state"])


def _parameter_layers(root: Layer) -> list[ParameterLayer]:
    out: list[ParameterLayer] = []
    if isinstance(root, LayerContainer):
        for child in root.layers:
            out.extend(_parameter_layers(child))
    elif isinstance(root, ParameterLayer):
        out.append(root)
    return out


def _where(desc: dict[str, Any]) -> str:
    name = (desc.get("config") or {}).get("name")
    return f"{desc.get('type')} {name!r}" if name else str(desc.get("type"))


def _match(desc: Any, layer: Layer, source: str, load_states: bool) -> None:
    if not isinstance(desc, dict) or not isinstance(desc.get("type"), str):
        raise PrmFormatError(f"{source}: a layer entry is not a {{'type', 'config'}} description.")
    cls = resolve(desc["type"], source)
    if cls is not type(layer):
        raise ShapeMismatchError(
            f"{source}: the file has {_where(desc)} where the model has "
            f"{type(layer).__name__} {layer.name!r}; the file was saved from another network."
        )
    if isinstance(layer, LayerContainer):
        children = (desc.get("config") or {}).get("layers") or []
        if len(children) != len(layer.layers):
            raise ShapeMismatchError(
                f"{source}: {_where(desc)} lists {len(children)} layers, the model's "
                f"{type(layer).__name__} {layer.name!r} has {len(layer.layers)}."
            )
        for child_desc, child in zip(children, layer.layers, strict=True):
            _match(child_desc, child, source, load_states)
    elif isinstance(layer, ParameterLayer):
        _load_layer(layer, desc, source, load_states)


def _load_layer(layer: ParameterLayer, entry: dict[str, Any], source: str, states: bool) -> None:
    params = entry.get("params")
    if not isinstance(params, dict):
        raise PrmFormatError(
            f"{source}: {_where(entry)} has no weights ('params'); the file was saved without "
            "weights."
        )
    arrays = {k: v for k, v in params.items() if hasattr(v, "shape")}
    try:
        layer.set_neon_params(arrays)
        if states and "states" in entry:
            _load_states(layer, entry["states"])
    except NeonTorchError as err:
        raise type(err)(f"{source}: {err}") from None


def _load_states(layer: ParameterLayer, saved: Any) -> None:
    n = len(layer.optimized_parameters())
    if not isinstance(saved, list):
        raise PrmFormatError(f"layer {layer.name!r}: 'states' is not a list.")
    per_param = saved if layer._nested_states else [saved]
    if layer._nested_states and not saved:
        per_param = [[] for _ in range(n)]
    if len(per_param) != n or not all(isinstance(s, list) for s in per_param):
        raise PrmFormatError(
            f"layer {layer.name!r}: 'states' holds {len(per_param)} per-parameter lists, "
            f"expected {n}."
        )
    converted = [
        [layer.state_from_neon(i, array) for array in arrays] for i, arrays in enumerate(per_param)
    ]
    while len(layer.states) < n:
        layer.states.append([])
    for i, tensors in enumerate(converted):
        layer.states[i][:] = tensors  # in place: optimizers hold these very lists


def _load_old_format(model: Any, loaded: LoadedFile, load_states: bool) -> None:
    entries = loaded.tree["layer_params_states"]
    layers = model.layers_to_optimize
    if len(entries) != len(layers):
        raise ShapeMismatchError(
            f"{loaded.path}: an old-format file with weights for {len(entries)} layers, but the "
            f"model optimizes {len(layers)} layers."
        )
    for layer, entry in zip(layers, entries, strict=True):
        _load_layer(layer, entry, loaded.path, load_states)
