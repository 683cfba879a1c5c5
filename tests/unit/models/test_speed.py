"""Speed options: torch.compile, mixed precision, loss scaling and Model.benchmark."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.errors import BackendError, NotConfiguredError, UnsupportedNeonFeature
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, Conv, GeneralizedCost, Pooling
from neon_torch.models import Model
from neon_torch.models._speed import LossScale
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax

RNG = np.random.RandomState(0)
X, Y = RNG.rand(64, 3 * 4 * 4).astype(np.float32), RNG.randint(3, size=64)


def _train(**options) -> tuple[np.ndarray, float, Model]:
    gen_backend("cpu", rng_seed=0, batch_size=16, **options)
    data = ArrayIterator(X, Y, nclass=3, lshape=(3, 4, 4))
    model = Model(
        [
            Conv((3, 3, 4), init=Gaussian(), padding=1, batch_norm=True, activation=Rectlin()),
            Pooling(2),
            Affine(3, Gaussian(), activation=Softmax()),
        ]
    )
    cost = GeneralizedCost(CrossEntropyMulti())
    model.fit(data, cost, GradientDescentMomentum(0.1, 0.9), num_epochs=3)
    return model.get_outputs(data), model.total_cost.item(), model


def test_compiled_model_equals_eager() -> None:
    eager, eager_cost, _ = _train()
    # aot_eager traces forward and backward like inductor without needing a C++ toolchain
    compiled, compiled_cost, model = _train(compile={"backend": "aot_eager"})
    assert len(model.run_state.compiled) == 1  # one compiled wrapper, reused by fit and get_outputs
    np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(compiled_cost, eager_cost, rtol=1e-5)


@pytest.mark.parametrize(("datatype", "tol"), [("bfloat16", 3e-2), (np.float16, 3e-3)])
def test_mixed_precision_keeps_float32_weights_and_tracks_float32(datatype, tol) -> None:
    def untrained(**options):
        gen_backend("cpu", rng_seed=0, batch_size=16, **options)
        data = ArrayIterator(X, Y, nclass=3, lshape=(3, 4, 4))
        model = Model(
            [
                Conv((3, 3, 4), init=Gaussian(), padding=1, activation=Rectlin()),
                Pooling(2),
                Affine(3, Gaussian(), activation=Softmax()),
            ]
        )
        return model.get_outputs(data)

    np.testing.assert_allclose(untrained(datatype=datatype), untrained(), atol=tol)
    _, reference_cost, _ = _train()
    outputs, cost, model = _train(datatype=datatype)
    assert model.be.amp_dtype in (torch.bfloat16, torch.float16)
    assert all(p.dtype == torch.float32 for p in model.module.parameters())
    assert outputs.dtype == np.float32
    np.testing.assert_allclose(cost, reference_cost, rtol=0.1)  # trains like float32


def test_loss_scale_skips_overflowing_steps_and_grows() -> None:
    scale = LossScale(init_scale=8.0, growth_interval=2)
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([8.0, float("inf"), 0.0])
    assert not scale.unscale([p]) and scale.scale == 4.0
    for _ in range(2):
        p.grad = torch.tensor([4.0, 8.0, 0.0])
        assert scale.unscale([p])
        torch.testing.assert_close(p.grad, torch.tensor([1.0, 2.0, 0.0]))  # divided by 4
    assert scale.scale == 8.0


def test_backend_option_errors() -> None:
    with pytest.raises(BackendError, match="compile must be"):
        gen_backend("cpu", compile=3)
    with pytest.raises(UnsupportedNeonFeature, match="int8"):
        gen_backend("cpu", datatype=np.int8)


def test_benchmark_times_and_trains() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    data = ArrayIterator(X, Y, nclass=3, lshape=(3, 4, 4))
    model = Model([Conv((3, 3, 4), init=Gaussian()), Affine(3, Gaussian(), activation=Softmax())])
    with pytest.raises(NotConfiguredError, match="needs cost= and optimizer="):
        model.benchmark(data)
    stats = model.benchmark(data, inference=True, niterations=3, nskip=1)
    assert set(stats) == {"fprop"} and stats["fprop"]["min"] > 0  # neon times fprop only
    before = model.module.layers[0].weight.detach().clone()
    cost = GeneralizedCost(CrossEntropyMulti())
    stats = model.benchmark(
        data, cost=cost, optimizer=GradientDescentMomentum(0.1, 0.9), niterations=6, nskip=2
    )  # 8 minibatches: two passes over 4
    assert set(stats) == {"fprop", "bprop", "iteration"}
    assert stats["iteration"]["max"] >= stats["iteration"]["median"] >= stats["iteration"]["min"]
    np.testing.assert_allclose(
        stats["iteration"]["mean"], stats["fprop"]["mean"] + stats["bprop"]["mean"], rtol=1e-6
    )
    assert not torch.equal(before, model.module.layers[0].weight)  # neon really updates


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compiled_and_cuda_graph_steps_equal_eager_on_cuda(mode: str) -> None:
    def run(**options):
        gen_backend("gpu", rng_seed=0, batch_size=16, **options)
        data = ArrayIterator(X, Y, nclass=3, lshape=(3, 4, 4))
        model = Model(
            [
                Conv((3, 3, 4), init=Gaussian(), padding=1, activation=Rectlin()),
                Pooling(2),
                Affine(3, Gaussian(), activation=Softmax()),
            ]
        )
        model.fit(
            data,
            GeneralizedCost(CrossEntropyMulti()),
            GradientDescentMomentum(0.1, 0.9),
            num_epochs=3,
        )
        return model.get_outputs(data)

    np.testing.assert_allclose(run(compile=mode), run(), rtol=1e-4, atol=1e-5)
