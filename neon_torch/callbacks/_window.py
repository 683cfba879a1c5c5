"""neon's moving average of the training cost over the last ``wsz`` minibatches."""

from __future__ import annotations

import numpy as np

__all__ = ["window_means"]


def window_means(values: np.ndarray, wsz: int) -> np.ndarray:
    """Entry ``i``: the mean of ``values[max(0, i - wsz + 1) : i + 1]`` along axis 0 (float64)."""
    values = np.asarray(values, dtype=np.float64)
    cumsum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    idx = np.arange(len(values))
    lo = np.maximum(0, idx - wsz + 1)
    count = (idx + 1 - lo).reshape(-1, *([1] * (values.ndim - 1)))
    return (cumsum[idx + 1] - cumsum[lo]) / count
