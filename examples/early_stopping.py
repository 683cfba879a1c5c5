#!/usr/bin/env python
"""Early stopping and best-state saving (neon's early_stopping example)."""

import os

from demo_data import digits
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import Gaussian
from neon.layers import Affine, GeneralizedCost
from neon.models import Model
from neon.optimizers import GradientDescentMomentum
from neon.transforms import CrossEntropyBinary, Logistic, Rectlin
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=32))
args = parser.parse_args()

(X_train, y_train), (X_test, y_test), nclass = digits()
train_set = ArrayIterator(X_train, y_train, nclass=nclass, lshape=(1, 28, 28))
valid_set = ArrayIterator(X_test, y_test, nclass=nclass, lshape=(1, 28, 28))

init_norm = Gaussian(loc=0.0, scale=0.01)
layers = [
    Affine(nout=100, init=init_norm, activation=Rectlin()),
    Affine(nout=10, init=init_norm, activation=Logistic(shortcut=True)),
]
cost = GeneralizedCost(costfunc=CrossEntropyBinary())
optimizer = GradientDescentMomentum(0.1, momentum_coef=0.9)
mlp = Model(layers=layers)

# evaluate every epoch so the stop function and the best-state saver see a loss
args.callback_args["eval_freq"] = 1
callbacks = Callbacks(mlp, eval_set=valid_set, **args.callback_args)


def stop_func(s, v):
    """Stop as soon as the validation cost gets worse."""
    if s is None:
        return (v, False)
    return (min(v, s), v > s)


callbacks.add_early_stop_callback(stop_func)
best_path = os.path.join(args.data_dir, "early_stopping_best.prm")
callbacks.add_save_best_state_callback(best_path)
mlp.fit(train_set, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
neon_logger.display("Stopped after %d epochs; best state in %s" % (mlp.epoch_index, best_path))
