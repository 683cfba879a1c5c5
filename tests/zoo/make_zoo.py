"""Writes the model-zoo-scale neon files and their recorded outputs (run it under real neon 2.6).

    env PYTHONPATH=<neon src> OMP_NUM_THREADS=1 <neon venv>/bin/python make_zoo.py [ARCH ...]

Each architecture is the full-size network of one of neon's example scripts (ImageNet input
sizes, 1000 classes), built with ``gen_backend('cpu', rng_seed=0, batch_size=2)``. The examples
that define ``create_network`` in a module are imported from neon's source tree
(``$NEON_EXAMPLES``, default ``/work/shared/neon_src/examples``); the ones written inline in a
benchmark script (VGG-A, GoogLeNet v1, OverFeat) and the DeepSpeech2-style stack are written
here after those scripts. After ``model.initialize`` the weights are made informative (see
``_perturb``), so that a wrong layout or a dropped tensor changes the outputs.

Outputs: ``<cache>/<arch>.prm`` (``model.save_params``, the format users hold; cache =
``$NEON_TORCH_ZOO`` or ``~/.cache/neon_torch_zoo``) and ``tests/data/zoo/<arch>.npz`` (the
sha256 of the input batch, which ``make_input`` makes from a seed, ``outputs`` =
``get_outputs`` of neon's ``Model(file)`` of the saved file, and the file's size and sha256).
Every architecture runs in its own process.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "zoo")
EXAMPLES = os.environ.get("NEON_EXAMPLES", "/work/shared/neon_src/examples")
BATCH = 2


def cache_dir() -> str:
    """Where the big ``.prm`` files go (also read by ``test_zoo.py`` and the benchmark)."""
    return os.environ.get("NEON_TORCH_ZOO", os.path.expanduser("~/.cache/neon_torch_zoo"))


# arch -> (input shape (C, H, W) or (C, D, H, W), how the layers are made)
ARCHS = {
    "alexnet": ((3, 224, 224), "imagenet/network_alexnet.py:create_network"),
    "alexnet_lrn": ((3, 224, 224), "imagenet/network_alexnet.py:create_network_lrn"),
    "vgg_a": ((3, 224, 224), "vgg_a"),
    "googlenet_v1": ((3, 224, 224), "googlenet_v1"),
    "overfeat": ((3, 231, 231), "overfeat"),
    "allcnn": ((3, 224, 224), "imagenet/network_allcnn.py:create_network"),
    "i1k_msra50": ((3, 224, 224), "imagenet/network_msra.py:create_network:50"),
    "c3d": ((3, 16, 112, 112), "video-c3d/network.py:create_network"),
    "deepspeech2": ((1, 13, 100), "deepspeech2"),
    "whale_calls": ((1, 81, 49), "whale_calls/network.py:create_network"),
}


# allcnn divides its input by 128 (DataTransform): feed it pixel-sized values
INPUT_SCALE = {"allcnn": 128.0}


def make_input(arch: str) -> np.ndarray:
    """The recorded input batch, ``(BATCH, prod(shape))`` float32 rows (neon's layout):
    uniform in [-1, 1) from ``RandomState(1)``, times ``INPUT_SCALE``. Made again from the
    seed, not stored; the ``.npz`` holds its sha256."""
    shape = ARCHS[arch][0]
    x = np.random.RandomState(1).uniform(-1.0, 1.0, (BATCH, int(np.prod(shape))))
    return (x * INPUT_SCALE.get(arch, 1.0)).astype(np.float32)


def _vgg_a():
    from neon.initializers import Gaussian
    from neon.layers import Affine, Conv, Pooling
    from neon.transforms import Rectlin, Softmax

    g = Gaussian(scale=0.01)
    layers = []
    for block in ([64], [128], [256, 256], [512, 512], [512, 512]):
        for nfm in block:
            layers.append(Conv((3, 3, nfm), init=g, activation=Rectlin(), padding=1))
        layers.append(Pooling(2, strides=2))
    layers += [
        Affine(nout=4096, init=g, activation=Rectlin()),
        Affine(nout=4096, init=g, activation=Rectlin()),
        Affine(nout=1000, init=g, activation=Softmax()),
    ]
    return layers


def _overfeat():
    from neon.initializers import Gaussian
    from neon.layers import Affine, Conv, Pooling
    from neon.transforms import Rectlin, Softmax

    g = Gaussian(scale=0.01)
    return [
        Conv((11, 11, 96), init=g, activation=Rectlin(), padding=0, strides=4),
        Pooling(2, strides=2),
        Conv((5, 5, 256), init=g, activation=Rectlin(), padding=0),
        Pooling(2, strides=2),
        Conv((3, 3, 512), init=g, activation=Rectlin(), padding=1),
        Conv((3, 3, 1024), init=g, activation=Rectlin(), padding=1),
        Conv((3, 3, 1024), init=g, activation=Rectlin(), padding=1),
        Pooling(2, strides=2),
        Affine(nout=3072, init=g, activation=Rectlin()),
        Affine(nout=4096, init=g, activation=Rectlin()),
        Affine(nout=1000, init=g, activation=Softmax()),
    ]


def _googlenet_v1():
    from neon.initializers import Xavier
    from neon.layers import Affine, Conv, MergeBroadcast, Pooling
    from neon.transforms import Rectlin, Softmax

    local = dict(activation=Rectlin(), init=Xavier(local=True))
    pool_s2 = dict(fshape=3, padding=1, strides=2, op="max")

    def inception(one, three, five, proj):
        return MergeBroadcast(
            layers=[
                [Conv((1, 1, one), **local)],
                [Conv((1, 1, three[0]), **local), Conv((3, 3, three[1]), padding=1, **local)],
                [Conv((1, 1, five[0]), **local), Conv((5, 5, five[1]), padding=2, **local)],
                [Pooling(op="max", fshape=3, padding=1, strides=1), Conv((1, 1, proj), **local)],
            ],
            merge="depth",
        )

    return [
        Conv((7, 7, 64), padding=3, strides=2, **local),
        Pooling(**pool_s2),
        Conv((1, 1, 64), **local),
        Conv((3, 3, 192), padding=1, **local),
        Pooling(**pool_s2),
        inception(64, (96, 128), (16, 32), 32),
        inception(128, (128, 192), (32, 96), 64),
        Pooling(**pool_s2),
        inception(192, (96, 208), (16, 48), 64),
        inception(160, (112, 224), (24, 64), 64),
        inception(128, (128, 256), (24, 64), 64),
        inception(112, (144, 288), (32, 64), 64),
        inception(256, (160, 320), (32, 128), 128),
        Pooling(**pool_s2),
        inception(256, (160, 320), (32, 128), 128),
        inception(384, (192, 384), (48, 128), 128),
        Pooling(fshape=7, strides=1, op="avg"),
        # the benchmark ends in a bare Affine; a Softmax makes the outputs class scores
        Affine(nout=1000, init=Xavier(local=False), activation=Softmax()),
    ]


def _deepspeech2():
    """neon's DeepSpeech2 layout: a strided convolution over (bands, time), a stack of
    batch-normalised bidirectional RNNs (``DeepBiRNN(batch_norm=True)`` = ``BiBNRNN``
    layers), a clipped-ReLU affine and a per-step character affine."""
    from neon.initializers import Constant, Gaussian, GlorotUniform
    from neon.layers import Affine, Conv, DeepBiRNN
    from neon.transforms import Identity, Rectlin, Rectlinclip

    glorot = GlorotUniform()
    hidden = 1152
    return [
        Conv(
            (13, 11, 1152),
            init=Gaussian(scale=0.01),
            bias=Constant(0),
            activation=Rectlin(),
            padding=dict(pad_h=0, pad_w=5),
            strides=dict(str_h=1, str_w=3),
        ),
        DeepBiRNN(
            hidden,
            init=glorot,
            activation=Rectlinclip(),
            batch_norm=True,
            reset_cells=True,
            depth=7,
        ),
        Affine(hidden, init=glorot, activation=Rectlinclip()),
        Affine(nout=29, init=glorot, activation=Identity()),
    ]


_INLINE = {
    "vgg_a": _vgg_a,
    "overfeat": _overfeat,
    "googlenet_v1": _googlenet_v1,
    "deepspeech2": _deepspeech2,
}


def _layers(recipe: str):
    if recipe in _INLINE:
        return _INLINE[recipe]()
    path, func, *args = recipe.split(":")
    folder, module = os.path.split(os.path.join(EXAMPLES, path))
    sys.path.insert(0, folder)
    made = getattr(__import__(module[:-3]), func)(*[int(a) for a in args])
    return made[0].layers.layers  # (Model, cost): the Model's top-level layers


def _tensors(params):
    """The parameter tensors in what a neon layer's ``get_params`` returns."""
    if isinstance(params, tuple) and len(params) == 2 and isinstance(params[0], tuple):
        return [params[0][0]]
    if isinstance(params, list):
        return [t for p in params for t in _tensors(p)]
    return []


def _fan_in(layer, weights: np.ndarray) -> int:
    """Inputs per output unit: neon stores convolution filters as ``(C*R*S, K)`` and linear
    weights as ``(nout, nin)``."""
    return weights.shape[0] if "Convolution" in type(layer).__name__ else weights.shape[1]


def _perturb(model, data, rng) -> None:
    """Make every parameter informative: convolution and linear weights rescaled to He's
    ``sqrt(2 / fan_in)`` (the examples' small Gaussians make a deep random net's output
    constant), seeded random values for every parameter the initializer left constant
    (biases, batch-norm scales and shifts), and batch-norm running statistics accumulated
    of one training-mode pass over the input, the variances then scaled by
    random factors in [1, 2) and raised by random amounts in [0.5, 1)."""
    for layer in model.layers_to_optimize:
        kind = type(layer).__name__
        for tensor in _tensors(layer.get_params()):
            value = tensor.get()
            if value.size and np.all(value == value.flat[0]):
                noise = rng.uniform(-0.1, 0.1, value.shape).astype(value.dtype)
                tensor.set(value + noise)
            elif kind in ("Convolution", "Linear") and value.ndim == 2:
                target = np.sqrt(2.0 / _fan_in(layer, value))
                tensor.set((value * (target / value.std())).astype(value.dtype))
    norms = [layer for layer in model.layers_to_optimize if getattr(layer, "gmean", None)]
    if norms:
        rhos = [layer.rho for layer in norms]
        for layer in norms:
            layer.rho = 0.0  # the running statistics become this pass's batch statistics
        for x, _t in data:
            model.fprop(x, inference=False)
        for layer, rho in zip(norms, rhos, strict=True):
            layer.rho = rho
            gvar = layer.gvar.get()
            scale = rng.uniform(1.0, 2.0, gvar.shape)
            floor = rng.uniform(0.5, 1.0, gvar.shape)  # batch-of-2 variances can be ~0
            layer.gvar.set((gvar * scale + floor).astype(gvar.dtype))


def run_one(arch: str) -> None:
    from neon.backends import gen_backend
    from neon.data import ArrayIterator
    from neon.models import Model

    shape, recipe = ARCHS[arch]
    gen_backend("cpu", rng_seed=0, batch_size=BATCH, datatype=np.float32)
    start = time.time()
    model = Model(layers=_layers(recipe))
    x = make_input(arch)
    rng = np.random.RandomState(2)
    data = ArrayIterator(x, None, make_onehot=False, lshape=shape)
    model.initialize(data)
    _perturb(model, data, rng)
    before = model.get_outputs(data)
    os.makedirs(cache_dir(), exist_ok=True)
    prm = os.path.join(cache_dir(), arch + ".prm")
    model.save_params(prm)
    outputs, source = _reloaded_outputs(prm, data)
    if outputs is None:
        outputs, source = before, "the saved model (neon cannot load its own file)"
    change = float(np.abs(outputs - before).max())
    with open(prm, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(DATA, exist_ok=True)
    np.savez_compressed(
        os.path.join(DATA, arch + ".npz"),
        x_sha256=np.array(hashlib.sha256(x.tobytes()).hexdigest()),
        outputs=outputs,
        lshape=np.array(shape),
        prm_bytes=np.array(os.path.getsize(prm)),
        prm_sha256=np.array(digest),
        outputs_from=np.array(source),
    )
    print(
        f"{arch}: {os.path.getsize(prm) / 2**20:.1f} MiB, outputs {outputs.shape} "
        f"range [{outputs.min():.4g}, {outputs.max():.4g}] from {source}, max change from "
        f"the in-memory model {change:.3g}, {time.time() - start:.1f} s"
    )


def _reloaded_outputs(prm: str, data):
    """``get_outputs`` of neon's ``Model(prm)``: what the file gives in neon (a BiBNRNN's
    beta and gamma, for one, are not saved and come back as zeros and ones). Weights only:
    with ``load_states`` neon refuses its own file of a never-trained BiBNRNN model."""
    from neon.models import Model

    try:
        return Model(prm, weights_only=True).get_outputs(data), "neon's Model(file)"
    except Exception as err:  # reported; the in-memory outputs are used instead
        print(f"neon cannot load {prm}: {type(err).__name__}: {err}")
        return None, None


def main() -> None:
    names = sys.argv[1:] or list(ARCHS)
    if len(names) == 1 and os.environ.get("_ZOO_CHILD"):
        run_one(names[0])
        return
    for name in names:
        subprocess.run(
            [sys.executable, __file__, name], env={**os.environ, "_ZOO_CHILD": "1"}, check=True
        )


if __name__ == "__main__":
    main()
