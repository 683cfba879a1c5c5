#!/usr/bin/env python
"""A small residual network (neon's cifar10_msra style: MergeSum of a conv path and a skip)."""

from demo_data import digits
from neon import logger as neon_logger
from neon.callbacks.callbacks import Callbacks
from neon.data import ArrayIterator
from neon.initializers import Kaiming
from neon.layers import Activation, Affine, Conv, GeneralizedCost, MergeSum, Pooling, SkipNode
from neon.models import Model
from neon.optimizers import GradientDescentMomentum, Schedule
from neon.transforms import CrossEntropyMulti, Misclassification, Rectlin, Softmax
from neon.util.argparser import NeonArgparser

parser = NeonArgparser(__doc__, default_overrides=dict(batch_size=32))
args = parser.parse_args()

(X_train, y_train), (X_test, y_test), nclass = digits()
train = ArrayIterator(X_train, y_train, nclass=nclass, lshape=(1, 28, 28))
test = ArrayIterator(X_test, y_test, nclass=nclass, lshape=(1, 28, 28))


def conv_params(fsize, nfm, relu=True):
    return dict(
        fshape=(fsize, fsize, nfm),
        padding=fsize // 2,
        batch_norm=True,
        activation=(Rectlin() if relu else None),
        init=Kaiming(local=True),
    )


def module_s1(nfm):
    mainpath = [Conv(**conv_params(3, nfm)), Conv(**conv_params(3, nfm, relu=False))]
    return [MergeSum([mainpath, SkipNode()]), Activation(Rectlin())]


layers = [Conv(**conv_params(3, 8)), *module_s1(8), *module_s1(8), Pooling("all", op="avg")]
layers.append(Affine(10, init=Kaiming(local=False), activation=Softmax()))
model = Model(layers=layers)
opt = GradientDescentMomentum(0.05, 0.9, wdecay=1e-4, schedule=Schedule([10], 0.1))
callbacks = Callbacks(model, eval_set=test, metric=Misclassification(), **args.callback_args)
cost = GeneralizedCost(costfunc=CrossEntropyMulti())
model.fit(train, optimizer=opt, num_epochs=args.epochs, cost=cost, callbacks=callbacks)
neon_logger.display(
    "Misclassification error = %.1f%%" % (model.eval(test, Misclassification())[0] * 100)
)
