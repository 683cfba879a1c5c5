#!/usr/bin/env python
"""A small convolutional network on digits (neon's mnist/cifar10_conv style)."""

from demo_data import digits
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import Gaussian
from neon.layers import Affine, Conv, GeneralizedCost, Pooling
from neon.models import Model
from neon.optimizers import GradientDescentMomentum
from neon.transforms import CrossEntropyMulti, Misclassification, Rectlin, Softmax
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=32))
args = parser.parse_args()

(X_train, y_train), (X_test, y_test), nclass = digits()
train = ArrayIterator(X_train, y_train, nclass=nclass, lshape=(1, 28, 28))
test = ArrayIterator(X_test, y_test, nclass=nclass, lshape=(1, 28, 28))

init_uni = Gaussian(scale=0.05)
layers = [
    Conv((5, 5, 8), init=init_uni, activation=Rectlin()),
    Pooling(2),
    Conv((5, 5, 16), init=init_uni, activation=Rectlin()),
    Pooling(2),
    Affine(nout=32, init=init_uni, activation=Rectlin()),
    Affine(nout=10, init=init_uni, activation=Softmax()),
]
cost = GeneralizedCost(costfunc=CrossEntropyMulti())
opt_gdm = GradientDescentMomentum(learning_rate=0.01, momentum_coef=0.9)
model = Model(layers=layers)
callbacks = Callbacks(model, eval_set=test, **args.callback_args)
model.fit(train, optimizer=opt_gdm, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
neon_logger.display(
    "Misclassification error = %.1f%%" % (model.eval(test, metric=Misclassification())[0] * 100)
)
