"""The callback-data file written with ``-o`` / ``Callbacks(output_file=...)``, in neon's layout.

``callback_data`` is an in-memory dict keyed by HDF5 paths (``'cost/train'``, ``'cost/loss'``,
``'metrics/<name>'``, ``'time_markers/minibatch'``, ``'time/train/start_time'``, ...); keys
starting with ``_`` are private. Callbacks declare the full length and the attributes of their
datasets with :func:`declare`, and the attributes of a group with :func:`declare_group` (neon
puts ``epochs_complete`` / ``minibatches_complete`` on group ``time_markers``);
:func:`write_file` writes everything (zero-padded to the declared length, as neon preallocates)
with group ``config`` carrying ``total_minibatches`` and ``total_epochs``. The file is rewritten
atomically at every epoch end, so it can be read while training runs.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["declare", "declare_group", "write_file"]


def declare(callback_data: dict, key: str, length: int | None = None, **attrs: Any) -> None:
    """Record the full length (None: as stored) and HDF5 attributes of dataset ``key``."""
    callback_data.setdefault("_h5", {})[key] = (length, attrs)


def declare_group(callback_data: dict, group: str, **attrs: Any) -> None:
    """Record HDF5 attributes of group ``group`` (written with its datasets)."""
    callback_data.setdefault("_h5_groups", {}).setdefault(group, {}).update(attrs)


def _padded(value: Any, length: int | None) -> np.ndarray:
    arr = np.asarray(value)
    if length is not None and arr.ndim >= 1 and arr.shape[0] < length:
        pad = np.zeros((length - arr.shape[0], *arr.shape[1:]), dtype=arr.dtype)
        arr = np.concatenate([arr, pad])
    return arr


def write_file(path: str, callback_data: dict) -> None:
    """Write ``callback_data`` to the HDF5 file ``path`` (atomically replaced)."""
    import h5py

    meta = callback_data.get("_h5", {})
    tmp = f"{path}.tmp{os.getpid()}"
    with h5py.File(tmp, "w") as f:
        config = f.create_group("config")
        for name, value in callback_data.get("config", {}).items():
            config.attrs[name] = value
        for key, value in callback_data.items():
            if key.startswith("_") or key == "config":
                continue
            length, attrs = meta.get(key, (None, {}))
            dataset = f.create_dataset(key, data=_padded(value, length))
            for name, attr in attrs.items():
                dataset.attrs[name] = attr
        for group, attrs in callback_data.get("_h5_groups", {}).items():
            node = f.require_group(group)
            for name, attr in attrs.items():
                node.attrs[name] = attr
    os.replace(tmp, path)
