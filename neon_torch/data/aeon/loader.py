"""aeon's ``DataLoader`` on ``torch.utils.data`` worker processes.

Records are decoded and augmented in worker processes (``torch.utils.data.DataLoader``) and
collated into minibatches; iteration yields aeon's tuples ``((name, array), ...)`` of numpy
arrays, batch-major ``(N, *shape)`` (``batch_major=False``: ``(features, N)``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch
import torch.utils.data

from ._config import LOADER_DEFAULTS, AeonConfigError, check_keys
from .etl import Provider, make_provider
from .manifest import Manifest

__all__ = ["DataLoader", "worker_count"]

_WORKERS_ENV = "NEON_TORCH_AEON_WORKERS"


def worker_count(decode_thread_count: int) -> int:
    """Worker processes: ``$NEON_TORCH_AEON_WORKERS`` if set (0 decodes in the calling
    process), else aeon's ``decode_thread_count``, else (0) the CPU count, at most 8."""
    env = os.environ.get(_WORKERS_ENV)
    if env is not None:
        try:
            return max(int(env), 0)
        except ValueError:
            raise AeonConfigError(
                f"${_WORKERS_ENV}={env!r}; expected a whole number of worker processes."
            ) from None
    if decode_thread_count > 0:
        return int(decode_thread_count)
    return min(os.cpu_count() or 1, 8)


class _Records(torch.utils.data.Dataset):
    """Index ``(pass, stream position, record)`` -> the record's buffers (one per name)."""

    def __init__(self, manifest: Manifest, providers: list[Provider], seed: int) -> None:
        self.manifest = manifest
        self.providers = providers
        self.seed = seed

    def __len__(self) -> int:
        return len(self.manifest)

    def __getitem__(self, key: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
        pass_index, position, record = key
        rng = np.random.default_rng([self.seed, pass_index, position])
        out: list[np.ndarray] = []
        shared: dict[str, Any] = {}
        rec = self.manifest.records[record]
        for kind, value, provider in zip(self.manifest.types, rec, self.providers, strict=True):
            out.extend(provider.load(kind, value, rng, shared))
        return tuple(out)


class _EpochSampler(torch.utils.data.Sampler):
    """Yields the current epoch's keys; the loader replaces them before each epoch."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int, int]] = []

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)


class DataLoader:
    """aeon's ``DataLoader(config)``: a manifest, its etl providers and augmentation, batched.

    neon semantics (aeon's loader):

    * ``config`` keys: ``manifest_filename``, ``manifest_root``, ``batch_size`` and ``etl``
      (required, one etl entry per manifest column, in order), ``augmentation``,
      ``shuffle_manifest`` (shuffle the records once, seeded by ``random_seed``),
      ``shuffle_enable`` (new block order every pass after the first), ``random_seed``
      (0: different augmentation draws every run; otherwise reproducible), ``subset_fraction``,
      ``block_size``, ``iteration_mode`` (``ONCE``: ``ceil(ndata / batch_size)`` minibatches
      per ``iter``; ``COUNT``: ``iteration_mode_count`` minibatches; ``INFINITE``: endless),
      ``batch_major``, ``decode_thread_count`` (worker processes), ``cache_directory``,
      ``pinned`` and ``web_server_port`` (accepted; no effect here);
    * every ``iter()`` starts again from the first record of a new pass (aeon reset itself
      there); a minibatch that runs past the last record is completed with records from the
      start of the next pass (the minibatch wrap-around);
    * ``ndata`` (records after ``subset_fraction``), ``batch_size``, ``config`` (a copy),
      ``axes_info`` (``((name, ((axis, length), ...)), ...)``), ``len()`` = ``ndata``,
      ``reset()``.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        if not isinstance(config, dict):
            raise AeonConfigError(
                f"aeon DataLoader config is a {type(config).__name__}; expected a dict."
            )
        self.config = dict(config)
        cfg = check_keys("loader", config, LOADER_DEFAULTS)
        self.batch_size = int(cfg["batch_size"])
        if self.batch_size <= 0:
            raise AeonConfigError(
                f"aeon batch_size={cfg['batch_size']!r}; expected a positive integer."
            )
        mode = str(cfg["iteration_mode"])
        if mode not in ("ONCE", "COUNT", "INFINITE"):
            raise AeonConfigError(
                f"aeon iteration_mode={mode!r}; expected 'ONCE', 'COUNT' or 'INFINITE'."
            )
        if mode == "COUNT" and int(cfg["iteration_mode_count"]) <= 0:
            raise AeonConfigError(
                f"aeon iteration_mode_count={cfg['iteration_mode_count']!r} with 'COUNT'; "
                "expected a positive number of minibatches."
            )
        self.iteration_mode = mode
        etl = cfg["etl"]
        if not isinstance(etl, list) or not etl:
            raise AeonConfigError(f"aeon etl={etl!r}; expected a non-empty list of etl dicts.")
        self.providers = [make_provider(e, list(cfg["augmentation"] or [])) for e in etl]
        seed = int(cfg["random_seed"])
        self._seed = seed if seed else int(cast(int, np.random.SeedSequence().entropy) % (2**63))
        self.manifest = Manifest.read(
            str(cfg["manifest_filename"]),
            str(cfg["manifest_root"] or ""),
            float(cfg["subset_fraction"]),
            bool(cfg["shuffle_manifest"]),
            seed,
            int(cfg["block_size"]) or 2 * self.batch_size,
        )
        if len(self.manifest.types) != len(self.providers):
            raise AeonConfigError(
                f"aeon manifest {self.manifest.path!r} has {len(self.manifest.types)} column(s) "
                f"but the config has {len(self.providers)} etl entr(ies); they must match."
            )
        self._reshuffle = bool(cfg["shuffle_manifest"] or cfg["shuffle_enable"])
        self.batch_major = bool(cfg["batch_major"])
        self.ndata = len(self.manifest)
        self.axes_info = tuple(
            (name, axes) for p in self.providers for name, axes in zip(p.names, p.axes, strict=True)
        )
        self._names = [name for name, _ in self.axes_info]
        self._workers = worker_count(int(cfg["decode_thread_count"]))
        self._sampler = _EpochSampler()
        self._records = _Records(self.manifest, self.providers, self._seed)
        self._torch_loader: torch.utils.data.DataLoader | None = None
        self._pass = 0

    def __len__(self) -> int:
        return self.ndata

    @property
    def batch_count(self) -> int | None:
        """Minibatches per ``iter()`` (None: endless)."""
        if self.iteration_mode == "INFINITE":
            return None
        if self.iteration_mode == "COUNT":
            return int(self.config["iteration_mode_count"])
        return math.ceil(self.ndata / self.batch_size)

    def reset(self) -> None:
        """Start the next iteration at the first record of a new pass."""

    def _keys(
        self, pass_index: int, offset: int, count: int
    ) -> tuple[list[tuple[int, int, int]], int, int]:
        """``count`` keys ``(pass, position in pass, record)`` from ``offset`` of pass
        ``pass_index`` on, and the pass and offset where the stream continues."""
        keys: list[tuple[int, int, int]] = []
        while len(keys) < count:
            order = self.manifest.pass_order(pass_index, self._reshuffle, self._seed)
            take = order[offset : offset + count - len(keys)]
            keys.extend((pass_index, offset + i, r) for i, r in enumerate(take))
            offset += len(take)
            if offset == len(order):
                pass_index, offset = pass_index + 1, 0
        return keys, pass_index, offset

    def _loader(self) -> torch.utils.data.DataLoader:
        if self._torch_loader is None:
            self._torch_loader = torch.utils.data.DataLoader(
                self._records,
                batch_size=self.batch_size,
                sampler=self._sampler,
                num_workers=self._workers,
                persistent_workers=self._workers > 0,
                collate_fn=_collate,  # stacks into shared memory in worker processes
            )
        return self._torch_loader

    def batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        """One iteration's minibatches as CPU tensors, batch-major ``(N, *shape)``."""
        count = self.batch_count
        chunk = count if count is not None else max(1, math.ceil(self.ndata / self.batch_size))
        pass_index, offset = self._pass, 0
        while True:
            keys, pass_index, offset = self._keys(pass_index, offset, chunk * self.batch_size)
            self._sampler.keys = keys
            self._pass = pass_index + (1 if offset else 0)  # the next iter() starts a new pass
            yield from self._loader()
            if count is not None:
                return

    def __iter__(self) -> Iterator[tuple[tuple[str, np.ndarray], ...]]:
        for batch in self.batches():
            arrays = [t.numpy() for t in batch]
            if not self.batch_major:
                arrays = [np.ascontiguousarray(a.reshape(a.shape[0], -1).T) for a in arrays]
            yield tuple(zip(self._names, arrays, strict=True))


def _collate(records: list[tuple[np.ndarray, ...]]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.utils.data.default_collate(records))
