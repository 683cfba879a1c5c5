"""Layers (neon's ``neon.layers``), each a ``torch.nn.Module`` with neon's constructor."""

from ._base import Layer, ParameterLayer
from .activation import Activation
from .batch_norm import BatchNorm
from .branch import BranchNode, SkipNode
from .compound_conv import Conv, Deconv
from .container import LayerContainer, Sequential
from .convolution import Convolution, Convolution_bias, Deconvolution
from .cost import GeneralizedCost
from .cost_mask import GeneralizedCostMask
from .data_transform import DataTransform
from .dropout import Dropout
from .linear import Affine, Bias, CompoundLayer, Linear
from .lrn import LRN
from .merge import MergeBroadcast, MergeMultistream, MergeSum
from .multicost import Multicost
from .pooling import Pooling
from .reshape import Reshape
from .tree import SingleOutputTree, Tree

__all__ = [
    "LRN",
    "Activation",
    "Affine",
    "BatchNorm",
    "Bias",
    "BranchNode",
    "CompoundLayer",
    "Conv",
    "Convolution",
    "Convolution_bias",
    "DataTransform",
    "Deconv",
    "Deconvolution",
    "Dropout",
    "GeneralizedCost",
    "GeneralizedCostMask",
    "Layer",
    "LayerContainer",
    "Linear",
    "MergeBroadcast",
    "MergeMultistream",
    "MergeSum",
    "Multicost",
    "ParameterLayer",
    "Pooling",
    "Reshape",
    "Sequential",
    "SingleOutputTree",
    "SkipNode",
    "Tree",
]
