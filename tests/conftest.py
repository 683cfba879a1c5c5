"""Shared test set-up: a fresh seeded CPU backend per test and the real-neon fixtures."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.backends import cleanup_backend

NEON_REF = Path(__file__).parent / "data" / "neon_ref"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="module")
def _fresh_name_counters_per_module() -> None:
    """Every test module names layers as a fresh process would: neon's per-class counters
    inherit from ancestors, so earlier modules' objects could otherwise shift the names."""
    from .helpers.golden import fresh_name_counters

    fresh_name_counters()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Any:
    """Each test starts like a fresh neon process: no backend, names counted from 0."""
    cleanup_backend()
    gc.collect()  # neon reuses auto names once objects are collected
    yield
    cleanup_backend()


def load_case(group: str, case: str) -> tuple[Any, dict]:
    """The ``.npz`` arrays and ``.json`` sidecar of a real-neon fixture case."""
    base = NEON_REF / group / case
    return np.load(f"{base}.npz"), json.loads(Path(f"{base}.json").read_text())
