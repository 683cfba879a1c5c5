#!/usr/bin/env python
"""Convolutional autoencoder (neon's conv_autoencoder style): targets are the inputs."""

from demo_data import digits
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import Uniform
from neon.layers import Conv, Deconv, GeneralizedCost, Pooling
from neon.models import Model
from neon.optimizers import GradientDescentMomentum
from neon.transforms import Rectlin, SumSquared
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=32))
args = parser.parse_args()

(X_train, y_train), (X_test, y_test), nclass = digits(ntrain=256)
train = ArrayIterator(X_train, lshape=(1, 28, 28))  # y=None: the targets are the inputs

init_uni = Uniform(low=-0.1, high=0.1)
layers = [
    Conv((4, 4, 4), init=init_uni, activation=Rectlin()),
    Pooling(2),
    Conv((4, 4, 8), init=init_uni, activation=Rectlin()),
    Pooling(2),
    Deconv(fshape=(3, 3, 8), init=init_uni, strides=2, padding=1),
    Deconv(fshape=(3, 3, 4), init=init_uni, strides=2, padding=1),
    Deconv(fshape=(4, 4, 1), init=init_uni, strides=2, padding=0),
]
ae = Model(layers=layers)
cost = GeneralizedCost(costfunc=SumSquared())
opt_gdm = GradientDescentMomentum(learning_rate=1e-3, momentum_coef=0.9)
callbacks = Callbacks(ae, **args.callback_args)
ae.fit(train, optimizer=opt_gdm, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
neon_logger.display("Final train cost %.4f" % ae.total_cost.item())
