"""Optimizers and learning-rate schedules (neon's ``neon.optimizers``).

Every optimizer also offers ``as_torch_optimizer(params, batch_size)`` (a real
``torch.optim.Optimizer`` with the same rule), and ``Model.fit`` accepts a ``torch.optim``
optimizer factory in place of a neon optimizer (see :mod:`.torch_adapter`).
"""

from .adaptive import Adadelta, Adagrad, Adam, RMSProp, ShiftAdaMax
from .gdm import GradientDescentMomentum
from .multi import MultiOptimizer
from .optimizer import Optimizer, get_param_list
from .schedule import (
    ExpSchedule,
    PolySchedule,
    PowerSchedule,
    Schedule,
    ShiftSchedule,
    StepSchedule,
)
from .torch_adapter import NeonTorchOptimizer, TorchOptimizerStep

__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "ExpSchedule",
    "GradientDescentMomentum",
    "MultiOptimizer",
    "NeonTorchOptimizer",
    "Optimizer",
    "PolySchedule",
    "PowerSchedule",
    "RMSProp",
    "Schedule",
    "ShiftAdaMax",
    "ShiftSchedule",
    "StepSchedule",
    "TorchOptimizerStep",
    "get_param_list",
]
