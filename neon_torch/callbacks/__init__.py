"""Callbacks (neon's ``neon.callbacks``)."""

from .callback import Callback
from .callbacks import (
    Callbacks,
    LossCallback,
    MetricCallback,
    ProgressBarCallback,
    RunTimerCallback,
    TrainCostCallback,
    TrainLoggerCallback,
)

__all__ = [
    "Callback",
    "Callbacks",
    "LossCallback",
    "MetricCallback",
    "ProgressBarCallback",
    "RunTimerCallback",
    "TrainCostCallback",
    "TrainLoggerCallback",
]
