#!/usr/bin/env python
"""Multi-layer perceptron on digits, in the style of neon's examples/mnist_mlp.py.

neon-torch run examples/mnist_mlp.py -e 2 -o mnist_mlp.h5 -s mnist_mlp.prm
"""

from demo_data import digits
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import Gaussian
from neon.layers import Affine, GeneralizedCost
from neon.models import Model
from neon.optimizers import GradientDescentMomentum
from neon.transforms import CrossEntropyBinary, Logistic, Misclassification, Rectlin
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
optimizer = GradientDescentMomentum(0.1, momentum_coef=0.9, stochastic_round=args.rounding)
mlp = Model(layers=layers)
callbacks = Callbacks(mlp, eval_set=valid_set, **args.callback_args)
mlp.fit(train_set, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
error_rate = mlp.eval(valid_set, metric=Misclassification())
neon_logger.display("Misclassification error = %.1f%%" % (error_rate[0] * 100))
