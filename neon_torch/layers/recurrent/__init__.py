"""neon's recurrent family (``neon.layers.recurrent``): the layers, their shared base and the
plain-torch forms.

``_base`` holds what every recurrent layer shares (shapes, neon's packed ``W``, its seeded fill,
carried state, the forward preamble); ``rnn``, ``lstm``, ``gru`` and ``birnn`` the layers;
``output`` the layers that reduce a sequence (``RecurrentSum`` ...); ``_torch`` their plain
``torch.nn`` forms; ``_delta_memory`` neon's shared error buffers behind split BiLSTMs.
"""

from .birnn import BiBNRNN, BiLSTM, BiRNN, BiSum, DeepBiLSTM, DeepBiRNN
from .gru import GRU
from .lstm import LSTM
from .output import RecurrentLast, RecurrentMean, RecurrentOutput, RecurrentSum
from .rnn import Recurrent

__all__ = [
    "GRU",
    "LSTM",
    "BiBNRNN",
    "BiLSTM",
    "BiRNN",
    "BiSum",
    "DeepBiLSTM",
    "DeepBiRNN",
    "Recurrent",
    "RecurrentLast",
    "RecurrentMean",
    "RecurrentOutput",
    "RecurrentSum",
]
