"""Activations, costs and metrics (neon's ``neon.transforms``)."""

from .activation import (
    Explin,
    Identity,
    Logistic,
    Normalizer,
    Rectlin,
    Rectlinclip,
    Sign,
    Softmax,
    Tanh,
    Transform,
)
from .cost import (
    Cost,
    CrossEntropyBinary,
    CrossEntropyMulti,
    GANCost,
    MeanSquared,
    SmoothL1Loss,
    SquareHingeLoss,
    SumSquared,
)
from .metric import (
    Accuracy,
    LogLoss,
    Metric,
    Misclassification,
    PrecisionRecall,
    TopKMisclassification,
)

__all__ = [
    "Accuracy",
    "Cost",
    "CrossEntropyBinary",
    "CrossEntropyMulti",
    "Explin",
    "GANCost",
    "Identity",
    "LogLoss",
    "Logistic",
    "MeanSquared",
    "Metric",
    "Misclassification",
    "Normalizer",
    "PrecisionRecall",
    "Rectlin",
    "Rectlinclip",
    "Sign",
    "SmoothL1Loss",
    "Softmax",
    "SquareHingeLoss",
    "SumSquared",
    "Tanh",
    "TopKMisclassification",
    "Transform",
]
