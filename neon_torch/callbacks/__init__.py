"""Callbacks (neon's ``neon.callbacks``)."""

from .batchnorm_tune import BatchNormTuneCallback
from .callback import Callback
from .callbacks import (
    Callbacks,
    LossCallback,
    MetricCallback,
    RunTimerCallback,
    TrainCostCallback,
    TrainLoggerCallback,
)
from .checkpoint import SaveBestStateCallback, SerializeModelCallback
from .early_stop import EarlyStopCallback
from .gan import GANCostCallback
from .multicost import TrainMulticostCallback
from .progress import ProgressBarCallback
from .ticker import WatchTickerCallback

__all__ = [
    "BatchNormTuneCallback",
    "Callback",
    "Callbacks",
    "EarlyStopCallback",
    "GANCostCallback",
    "LossCallback",
    "MetricCallback",
    "ProgressBarCallback",
    "RunTimerCallback",
    "SaveBestStateCallback",
    "SerializeModelCallback",
    "TrainCostCallback",
    "TrainLoggerCallback",
    "TrainMulticostCallback",
    "WatchTickerCallback",
]
