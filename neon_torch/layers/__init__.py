"""Layers (neon's ``neon.layers``), each a ``torch.nn.Module`` with neon's constructor."""

from ._base import Layer, ParameterLayer
from .activation import Activation
from .batch_norm import BatchNorm
from .container import LayerContainer, Sequential
from .cost import GeneralizedCost
from .dropout import Dropout
from .linear import Affine, Bias, CompoundLayer, Linear

__all__ = [
    "Activation",
    "Affine",
    "BatchNorm",
    "Bias",
    "CompoundLayer",
    "Dropout",
    "GeneralizedCost",
    "Layer",
    "LayerContainer",
    "Linear",
    "ParameterLayer",
    "Sequential",
]
