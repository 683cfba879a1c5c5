#!/usr/bin/env python
"""LSTM sentiment classifier (neon's imdb_lstm style) on embedded token-id sentences."""

from demo_data import sentiment
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import GlorotUniform, Uniform
from neon.layers import LSTM, Affine, Dropout, GeneralizedCost, LookupTable, RecurrentSum
from neon.models import Model
from neon.optimizers import Adagrad
from neon.transforms import Accuracy, CrossEntropyMulti, Logistic, Softmax, Tanh
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=32))
parser.add_argument("--rlayer_type", default="lstm", choices=["lstm"], help="recurrent layer")
args = parser.parse_args()

vocab_size, sentence_length, embedding_dim, hidden_size = 50, 16, 16, 16
(X_train, y_train), (X_test, y_test), nclass = sentiment(
    n=256, sentence_length=sentence_length, vocab_size=vocab_size
)
train_set = ArrayIterator(X_train, y_train, nclass=2)
valid_set = ArrayIterator(X_test, y_test, nclass=2)

init_glorot = GlorotUniform()
layers = [
    LookupTable(vocab_size=vocab_size, embedding_dim=embedding_dim, init=Uniform(-0.05, 0.05)),
    LSTM(hidden_size, init_glorot, activation=Tanh(), gate_activation=Logistic(), reset_cells=True),
    RecurrentSum(),
    Dropout(keep=0.5),
    Affine(nclass, init_glorot, bias=init_glorot, activation=Softmax()),
]
model = Model(layers=layers)
cost = GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True))
optimizer = Adagrad(learning_rate=0.01)
callbacks = Callbacks(model, eval_set=valid_set, **args.callback_args)
model.fit(train_set, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
neon_logger.display("Test Accuracy - %.1f%%" % (model.eval(valid_set, metric=Accuracy())[0] * 100))
