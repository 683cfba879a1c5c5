"""``Model``'s file methods: serialize, save_params, load_params, deserialize, Model(file).

neon semantics kept:

* ``serialize`` returns ``get_description(get_weights=True, keep_states)`` plus
  ``epoch_index`` (neon stores ``model.epoch_index + 1``) and ``train_input_shape`` (for a
  ``Seq2Seq`` the encoder's input shape followed by the decoder's);
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

import numpy as np
import torch

from ..backends.backend import current_backend
from ..errors import NeonTorchError, PrmFormatError, ShapeMismatchError, UnknownNeonTypeError
from ..layers._base import Layer, ParameterLayer, parameter_limit
from ..layers.container import LayerContainer
from . import legacy, prm_file
from .build import MAX_CONFIG_INT, build_object, resolve
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
        layers = model.layers
        seq2seq = getattr(layers, "configured_shape", None)  # neon: encoder then decoder shape
        tree["train_input_shape"] = layers.in_shape if seq2seq is None else seq2seq
    done = model.epoch_index + (1 if model.run_state.epoch_done else 0)
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
    """Rebuild the root container from a file path or description dict (``Model(file)``).

    The description is checked against the schema of :mod:`.build` before anything is built.
    The backend takes the file's ``compat_mode`` before the layers are built (Dropout reads it
    then, as in neon); it is put back if building or, later, loading fails.
    """
    loaded = _loaded(source)
    tree = loaded.tree
    if "model" not in tree:
        raise PrmFormatError(
            f"{loaded.path}: an old neon file (before neon 1.2) with weights only "
            "('layer_params_states'); build the model in code and call "
            "model.load_params(path) instead."
        )
    backend = tree.get("backend") or {}
    if not isinstance(backend, dict):
        raise PrmFormatError(f"{loaded.path}: 'backend' is a {type(backend).__name__}, not a dict.")
    compat = backend.get("compat_mode")
    if compat not in ("neon", "caffe", None):
        raise PrmFormatError(
            f"{loaded.path}: backend.compat_mode {str(compat)[:40]!r}; expected 'neon' or 'caffe'."
        )
    if "train_input_shape" in tree:
        _check_input_shape(tree["train_input_shape"], loaded.path)
    be = current_backend()
    loaded.compat_before = be.compat_mode
    be.compat_mode = "caffe" if compat == "caffe" else None
    try:
        root = build_object(tree["model"], loaded.path)
    except BaseException:
        be.compat_mode = loaded.compat_before
        raise
    return root, loaded


def load_into(model: Any, source: Any, load_states: bool = True) -> None:
    """``load_params`` / ``deserialize``: weights (and states, RNG, counters) into ``model``.

    ``source`` given as a :class:`LoadedFile` means the model's layers were just built from it
    (``Model(file)``): its parameters are then created within what the file holds
    (:func:`~neon_torch.layers._base.parameter_limit`), so a description declaring larger
    layers than its weights fails before the memory is taken.
    """
    built_from_file = isinstance(source, LoadedFile)
    loaded = source if built_from_file else _loaded(source)
    try:
        _load_into(model, loaded, load_states, built_from_file)
    except BaseException:
        if built_from_file:  # Model(file) fails as a whole: the backend is as it was
            current_backend().compat_mode = loaded.compat_before
        raise


def _load_into(model: Any, loaded: LoadedFile, load_states: bool, built_from_file: bool) -> None:
    if not model.initialized:
        shape = loaded.tree.get("train_input_shape")
        if shape is None or "model" not in loaded.tree:
            _check_counters(loaded)
            model.run_state.pending_load = (loaded, load_states, built_from_file)  # for initialize
            _apply_counters(model, loaded, load_states)
            return
        try:
            model.layers.configure(_input_shape(shape, loaded.path, model))
        except (TypeError, ValueError, ArithmeticError, LookupError) as err:
            if isinstance(err, NeonTorchError):
                raise
            raise ShapeMismatchError(
                f"{loaded.path}: the layers cannot take train_input_shape {shape}: {err}"
            ) from None
        _allocate_quietly(model, loaded if built_from_file else None)
        try:  # the weights are new: nothing to copy back if the load fails
            _transaction(model, loaded, load_states, keep_tensors=False)
        except BaseException:
            model.initialized = False
            raise
        model.initialized = True
        model.run_state.configured_from_file = True  # a later initialize(dataset) re-configures
        return
    _transaction(model, loaded, load_states)


def apply_pending(model: Any) -> None:
    """Allocate (without drawing from the RNG) and load what ``load_into`` deferred."""
    loaded, load_states, built_from_file = model.run_state.pending_load
    model.run_state.pending_load = None
    _allocate_quietly(model, loaded if built_from_file else None)
    _transaction(model, loaded, load_states, keep_tensors=False)


def restore_optimizer_state(model: Any, optimizer: Any) -> None:
    """Give ``optimizer`` the counters saved with the checkpoint, if it is of the stored type."""
    pending = model.run_state.pending_optimizer
    if pending is None or not hasattr(optimizer, "load_extra_state"):
        return
    model.run_state.pending_optimizer = None
    stored_type, state = pending
    try:
        same = resolve(str(stored_type)) is type(optimizer)
    except UnknownNeonTypeError:
        same = False
    if not (same and state):
        return
    if not isinstance(state, dict):
        raise PrmFormatError(
            f"the checkpoint's neon_torch.optimizer_state is a {type(state).__name__}, not a dict."
        )
    try:
        optimizer.load_extra_state(state)
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as err:
        raise PrmFormatError(
            f"the checkpoint's neon_torch.optimizer_state cannot be given to "
            f"{type(optimizer).__name__} ({type(err).__name__}: {str(err)[:100]}); the file is "
            "corrupted or was written for another optimizer."
        ) from None


# -- internals ------------------------------------------------------------------------------
def _input_shape(value: Any, source: str, model: Any) -> Any:
    """``train_input_shape`` as neon stores it, checked: a positive int or a short tuple of
    them, or, when the model reads several streams (a ``MergeMultistream`` first, or a
    ``SkipThought``), one such shape per stream."""
    from ..layers.merge import MergeMultistream
    from ..layers.skipthought import SkipThought

    first = next(iter(getattr(model.layers, "layers", [])), None)
    if (
        (isinstance(first, MergeMultistream) or isinstance(model.layers, SkipThought))
        and isinstance(value, (list, tuple))
        and 0 < len(value) <= 64
    ):
        return [_one_shape(s, source) for s in value]
    return _one_shape(value, source)


def _check_input_shape(value: Any, source: str) -> None:
    """Refuse a ``train_input_shape`` that is neither one shape nor one per input stream."""
    try:
        _one_shape(value, source)
    except PrmFormatError:
        if not (isinstance(value, (list, tuple)) and 0 < len(value) <= 64):
            raise
        for stream in value:
            _one_shape(stream, source)


def _one_shape(value: Any, source: str) -> int | tuple[int, ...]:
    """One input shape: a positive int or a tuple of up to 5 of them."""
    dims = list(value) if isinstance(value, (list, tuple)) else [value]
    ok = 1 <= len(dims) <= 5 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 < d <= MAX_CONFIG_INT
        for d in dims
    )
    if not ok:
        raise PrmFormatError(
            f"{source}: train_input_shape {_short(value)}; expected a positive int or a tuple "
            "of up to 5 of them."
        )
    return int(dims[0]) if not isinstance(value, (list, tuple)) else tuple(int(d) for d in dims)


def _short(value: Any) -> str:
    if isinstance(value, (str, bool, int, float)) or value is None:
        return repr(value)[:40]
    if isinstance(value, (list, tuple)) and len(value) <= 5:
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return f"a {type(value).__name__}"


def _file_parameter_count(loaded: LoadedFile) -> int:
    """How many parameter values the file's layer entries hold (arrays under ``params``)."""
    total = 0
    pending = [loaded.tree.get("model")]
    while pending:
        desc = pending.pop()
        if not isinstance(desc, dict):
            continue
        params = desc.get("params")
        if isinstance(params, dict):
            total += sum(int(v.size) for v in params.values() if isinstance(v, np.ndarray))
        config = desc.get("config")
        layers = config.get("layers") if isinstance(config, dict) else None
        if isinstance(layers, (list, tuple)):
            for item in layers:
                pending.extend(item if isinstance(item, (list, tuple)) else [item])
    return total


def _allocate_quietly(model: Any, limit_from: LoadedFile | None = None) -> None:
    """Allocate parameters without consuming the RNG (neon creates them from the file); with
    ``limit_from``, within the parameter values that file holds."""
    be = current_backend()
    state = be.rng_get_state()
    try:
        if limit_from is None:
            model.layers.allocate()
        else:
            with parameter_limit(_file_parameter_count(limit_from), limit_from.path):
                model.layers.allocate()
    except (TypeError, ValueError, ArithmeticError, LookupError, RuntimeError) as err:
        if limit_from is None or isinstance(err, NeonTorchError):
            raise
        raise ShapeMismatchError(
            f"{limit_from.path}: the layers described cannot be created: {err}"
        ) from None
    finally:
        be.rng_set_state(state)


def _snapshot(model: Any, keep_tensors: bool) -> dict[str, Any]:
    layers = _parameter_layers(model.layers)
    tensors = model.layers.state_dict(keep_vars=True).values() if keep_tensors else ()
    return {
        "tensors": [(t, t.detach().clone()) for t in tensors],
        "states": [(layer, [list(s) for s in layer.states]) for layer in layers],
        "epoch_index": model.epoch_index,
        "rng": current_backend().rng_get_state(),
        "pending_optimizer": model.run_state.pending_optimizer,
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
    model.run_state.pending_optimizer = snap["pending_optimizer"]


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


def _counter(value: Any, source: str, field: str) -> int:
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or not (0 <= value <= MAX_CONFIG_INT)
    ):
        raise PrmFormatError(f"{source}: {field} {_short(value)}; expected a non-negative int.")
    return int(value)


def _check_counters(loaded: LoadedFile) -> None:
    """Every counter and the RNG state well-formed (so applying them cannot fail half-way)."""
    tree, source = loaded.tree, loaded.path
    ext = tree.get(_EXT) if loaded.kind in ("neon_torch", "dict") else None
    if isinstance(ext, dict) and "epochs_completed" in ext:
        _counter(ext["epochs_completed"], source, "neon_torch.epochs_completed")
    if "epoch_index" in tree:
        _counter(tree["epoch_index"], source, "epoch_index")
    backend = tree.get("backend") or {}
    state = backend.get("rng_state") if isinstance(backend, dict) else None
    if state is None:
        return
    ok = (
        isinstance(state, (list, tuple))
        and len(state) == 5
        and state[0] == "MT19937"
        and isinstance(state[1], np.ndarray)
        and state[1].dtype == np.uint32
        and state[1].shape == (624,)
        and all(isinstance(v, (int, np.integer)) for v in state[2:4])
        and 0 <= state[2] <= 624
        and state[3] in (0, 1)
        and isinstance(state[4], (int, float, np.floating))
    )
    if not ok:
        raise PrmFormatError(
            f"{source}: backend.rng_state is not ('MT19937', 624 uint32 words, position, "
            "has_gauss, cached_gaussian)."
        )


def _apply_counters(model: Any, loaded: LoadedFile, load_states: bool) -> None:
    _check_counters(loaded)
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
        current_backend().rng_set_state(tuple(rng_state))
    optimizer = tree.get("optimizer")
    if isinstance(ext, dict) and ext.get("optimizer_state") and isinstance(optimizer, dict):
        model.run_state.pending_optimizer = (optimizer.get("type"), ext["optimizer_state"])


def _parameter_layers(root: Layer) -> list[ParameterLayer]:
    out: list[ParameterLayer] = []
    if isinstance(root, LayerContainer):
        for child in root.layers:
            out.extend(_parameter_layers(child))
    elif isinstance(root, ParameterLayer):
        out.append(root)
    return out


def _config(desc: dict[str, Any]) -> dict[str, Any]:
    config = desc.get("config")
    return config if isinstance(config, dict) else {}


def _where(desc: dict[str, Any]) -> str:
    name = _config(desc).get("name")
    return f"{desc.get('type')} {str(name)[:60]!r}" if name else str(desc.get("type"))[:100]


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
        children = _config(desc).get("layers") or []
        if not isinstance(children, (list, tuple)):
            raise PrmFormatError(f"{source}: {_where(desc)} has a 'layers' that is not a list.")
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
    arrays = {k: v for k, v in params.items() if isinstance(v, np.ndarray)}
    missing = sorted(set(layer._torch_tensors()) - set(arrays))
    if missing:
        raise PrmFormatError(
            f"{source}: {_where(entry)} has no array for parameter(s) {missing}; the file is "
            "incomplete or corrupted (a layer is never left with its fresh initial values)."
        )
    for key, array in arrays.items():
        _check_float(array, source, f"{_where(entry)} params.{key}")
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
    if layer._nested_states:
        per_param = saved or [[] for _ in range(n)]
    else:
        # a flat list: the states of the first parameter (``W``); neon saves no others (a
        # BiBNRNN's beta and gamma states), so their optimizer starts them afresh
        per_param = [saved] + [[] for _ in range(n - 1)]
    if len(per_param) != n or not all(isinstance(s, list) for s in per_param):
        raise PrmFormatError(
            f"layer {layer.name!r}: 'states' holds {len(per_param)} per-parameter lists, "
            f"expected {n}."
        )
    for i, arrays in enumerate(per_param):
        for array in arrays:
            _check_float(array, "", f"layer {layer.name!r} states.{i}")
    converted = [
        [layer.state_from_neon(i, array) for array in arrays] for i, arrays in enumerate(per_param)
    ]
    while len(layer.states) < n:
        layer.states.append([])
    for i, tensors in enumerate(converted):
        layer.states[i][:] = tensors  # in place: optimizers hold these very lists


def _check_float(array: Any, source: str, field: str) -> None:
    """Parameters and optimizer states are floating-point arrays (an int or bool array means
    the bytes would be reinterpreted)."""
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        got = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        prefix = f"{source}: " if source else ""
        raise PrmFormatError(
            f"{prefix}{field} is {got}; parameters and optimizer states are float arrays."
        )


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
