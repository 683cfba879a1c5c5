#!/usr/bin/env python
"""Character-level language model (neon's char_lstm / text_generation style) on a small
embedded text written to the data directory."""

from demo_data import text_file
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import Text
from neon.initializers import Uniform
from neon.layers import LSTM, Affine, GeneralizedCost
from neon.models import Model
from neon.optimizers import RMSProp
from neon.transforms import CrossEntropyMulti, Logistic, Misclassification, Softmax, Tanh
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=16))
args = parser.parse_args()

time_steps, hidden_size = 20, 16
path = text_file(args.data_dir, nchars=3600)
train_path, valid_path = Text.create_valid_file(path)
train_set = Text(time_steps, train_path)
valid_set = Text(time_steps, valid_path, vocab=train_set.vocab)

init = Uniform(low=-0.08, high=0.08)
layers = [
    LSTM(hidden_size, init, activation=Tanh(), gate_activation=Logistic()),
    Affine(len(train_set.vocab), init, bias=init, activation=Softmax()),
]
model = Model(layers=layers)
cost = GeneralizedCost(costfunc=CrossEntropyMulti(usebits=True))
optimizer = RMSProp(gradient_clip_value=5, stochastic_round=args.rounding)
callbacks = Callbacks(model, eval_set=valid_set, **args.callback_args)
model.fit(train_set, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
error = model.eval(valid_set, metric=Misclassification(steps=time_steps))[0]
neon_logger.display("Character misclassification = %.1f%%" % (error * 100))
