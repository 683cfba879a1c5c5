"""Small arrays that neon returned and scripts print as numbers.

neon's ``Model.eval`` returns a float32 array of shape ``(len(metric_names),)`` and its costs
(``model.total_cost``, ``cost.cost``) are ``(1, 1)`` arrays. neon-era scripts print them with
``'%.1f' % (error * 100)``, ``float(...)`` or ``'{:.2f}'.format(...)``, which numpy used to
allow on any one-element array. Newer numpy refuses to turn an array of more than zero
dimensions into a Python scalar, so these values come back as :class:`NeonValues`: a plain
``numpy.ndarray`` subclass (indexing, arithmetic and ``np.asarray`` behave as before) that
converts to ``float``/``int`` and formats with a numeric format spec whenever it holds exactly
one element, on every numpy version. Arrays of several elements keep numpy's own behaviour.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NeonValues", "neon_values"]


class NeonValues(np.ndarray):
    """A numpy array whose one-element instances act as numbers in ``float``, ``int``, ``%``
    formatting and ``format`` (see the module docstring)."""

    def _scalar(self, what: str) -> Any:
        if self.size != 1:
            raise TypeError(
                f"{what}: only one-element arrays convert to a Python scalar; this one has "
                f"shape {self.shape}. Index it first (e.g. values[0])."
            )
        return self.view(np.ndarray).reshape(-1)[0].item()

    def __float__(self) -> float:
        return float(self._scalar("float()"))

    def __int__(self) -> int:
        return int(self._scalar("int()"))

    def __repr__(self) -> str:  # as neon's plain arrays print
        return repr(self.view(np.ndarray))

    def __format__(self, spec: str) -> str:
        if spec and self.size == 1:
            return format(self._scalar("format()"), spec)
        return np.ndarray.__format__(self.view(np.ndarray), spec)


def neon_values(values: Any, shape: tuple[int, ...] | None = None) -> NeonValues:
    """``values`` as a float32 :class:`NeonValues` array, reshaped to ``shape`` when given."""
    arr = np.asarray(values, dtype=np.float32)
    if shape is not None:
        arr = arr.reshape(shape)
    return arr.view(NeonValues)
