"""``neon.util.compat``: neon's Python 2/3 helpers, for Python 3."""

from __future__ import annotations

import pickle
from typing import Any

__all__ = ["PY3", "pickle", "pickle_load", "range", "xrange"]

PY3 = True
xrange = range
range = range


def pickle_load(fileobj: Any) -> Any:
    """``pickle.load`` with neon's ``latin1`` decoding of Python 2 strings.

    Unlike ``neon_torch.util.persist.load_obj`` this runs an ordinary unpickler: only use it on
    files you trust (what neon scripts do with their own ``.pkl`` data files).
    """
    return pickle.load(fileobj, encoding="latin1")
