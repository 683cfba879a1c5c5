"""Layers (neon's ``neon.layers``), each a ``torch.nn.Module`` with neon's constructor."""

from ._base import Layer, ParameterLayer
from .activation import Activation
from .batch_norm import BatchNorm
from .compound_conv import Conv, Deconv
from .container import LayerContainer, Sequential
from .convolution import Convolution, Convolution_bias, Deconvolution
from .cost import GeneralizedCost
from .data_transform import DataTransform
from .dropout import Dropout
from .linear import Affine, Bias, CompoundLayer, Linear
from .lrn import LRN
from .pooling import Pooling
from .reshape import Reshape

__all__ = [
    "LRN",
    "Activation",
    "Affine",
    "BatchNorm",
    "Bias",
    "CompoundLayer",
    "Conv",
    "Convolution",
    "Convolution_bias",
    "DataTransform",
    "Deconv",
    "Deconvolution",
    "Dropout",
    "GeneralizedCost",
    "Layer",
    "LayerContainer",
    "Linear",
    "ParameterLayer",
    "Pooling",
    "Reshape",
    "Sequential",
]
