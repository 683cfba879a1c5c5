#!/usr/bin/env python
"""Different optimizers for different layer types (neon's multi_optimizer example)."""

from demo_data import digits
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import Constant, Gaussian
from neon.layers import Affine, Conv, GeneralizedCost, Pooling
from neon.models import Model
from neon.optimizers import GradientDescentMomentum, MultiOptimizer, RMSProp
from neon.transforms import CrossEntropyMulti, Misclassification, Rectlin, Softmax
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=32))
args = parser.parse_args()

(X_train, y_train), (X_test, y_test), nclass = digits()
train = ArrayIterator(X_train, y_train, nclass=nclass, lshape=(1, 28, 28))
test = ArrayIterator(X_test, y_test, nclass=nclass, lshape=(1, 28, 28))

init = Gaussian(scale=0.05)
layers = [
    Conv((5, 5, 8), init=init, bias=Constant(0), activation=Rectlin()),
    Pooling(2),
    Affine(nout=32, init=init, bias=Constant(0), activation=Rectlin()),
    Affine(nout=10, init=init, bias=Constant(0), activation=Softmax()),
]
opt_gdm = GradientDescentMomentum(learning_rate=0.01, momentum_coef=0.9)
opt_rms = RMSProp(learning_rate=0.001)
optimizer = MultiOptimizer({"default": opt_gdm, "Bias": opt_rms, "Convolution_bias": opt_rms})
model = Model(layers=layers)
cost = GeneralizedCost(costfunc=CrossEntropyMulti())
callbacks = Callbacks(model, eval_set=test, **args.callback_args)
model.fit(train, optimizer=optimizer, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
neon_logger.display(
    "Misclassification error = %.1f%%" % (model.eval(test, metric=Misclassification())[0] * 100)
)
