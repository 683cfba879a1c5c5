"""Layers (neon's ``neon.layers``), each a ``torch.nn.Module`` with neon's constructor."""

from ._base import Layer, ParameterLayer
from .activation import Activation
from .batch_norm import BatchNorm
from .binary import BinaryAffine, BinaryLinear, ShiftBatchNorm
from .branch import BranchNode, SkipNode
from .compound import Affine, CompoundLayer, Conv, Deconv
from .container import LayerContainer, Sequential
from .convolution import Convolution, Convolution_bias, Deconvolution
from .cost import GeneralizedCost
from .cost_mask import GeneralizedCostMask
from .data_transform import DataTransform
from .dropout import Dropout
from .gan import GeneralizedGANCost, GenerativeAdversarial
from .linear import Bias, Linear
from .lookup_table import LookupTable, TokenIdError
from .lrn import LRN
from .merge import MergeBroadcast, MergeMultistream, MergeSum
from .multicost import Multicost
from .pooling import Pooling
from .recurrent.birnn import BiBNRNN, BiLSTM, BiRNN, BiSum, DeepBiLSTM, DeepBiRNN
from .recurrent.gru import GRU
from .recurrent.lstm import LSTM
from .recurrent.output import RecurrentLast, RecurrentMean, RecurrentOutput, RecurrentSum
from .recurrent.rnn import Recurrent
from .reshape import Reshape
from .seq2seq import Decoder, Encoder, Seq2Seq
from .skipthought import SkipThought
from .tree import SingleOutputTree, Tree

__all__ = [
    "GRU",
    "LRN",
    "LSTM",
    "Activation",
    "Affine",
    "BatchNorm",
    "BiBNRNN",
    "BiLSTM",
    "BiRNN",
    "BiSum",
    "Bias",
    "BinaryAffine",
    "BinaryLinear",
    "BranchNode",
    "CompoundLayer",
    "Conv",
    "Convolution",
    "Convolution_bias",
    "DataTransform",
    "Decoder",
    "Deconv",
    "Deconvolution",
    "DeepBiLSTM",
    "DeepBiRNN",
    "Dropout",
    "Encoder",
    "GeneralizedCost",
    "GeneralizedCostMask",
    "GeneralizedGANCost",
    "GenerativeAdversarial",
    "Layer",
    "LayerContainer",
    "Linear",
    "LookupTable",
    "MergeBroadcast",
    "MergeMultistream",
    "MergeSum",
    "Multicost",
    "ParameterLayer",
    "Pooling",
    "Recurrent",
    "RecurrentLast",
    "RecurrentMean",
    "RecurrentOutput",
    "RecurrentSum",
    "Reshape",
    "Seq2Seq",
    "Sequential",
    "ShiftBatchNorm",
    "SingleOutputTree",
    "SkipNode",
    "SkipThought",
    "TokenIdError",
    "Tree",
]
