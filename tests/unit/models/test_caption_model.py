"""What neon's image-captioning model needs besides its data: a recurrent merge that prepends
a feature vector as one time step, ``Array`` initialisers holding backend tensors, and
``GeneralizedCostMask``'s per-minibatch ``cost/train``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callbacks
from neon_torch.errors import ShapeMismatchError
from neon_torch.initializers import Array, Constant, Gaussian
from neon_torch.layers import (
    Affine,
    GeneralizedCost,
    GeneralizedCostMask,
    Linear,
    MergeMultistream,
    Reshape,
)
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum, get_param_list
from neon_torch.transforms import SumSquared


def _merge() -> MergeMultistream:
    merge = MergeMultistream([[Linear(4, Gaussian())], [Linear(4, Gaussian())]], "recurrent")
    merge.configure([6, (3, 5)])  # an image vector and a 5-step sequence
    merge.allocate()
    return merge


def test_recurrent_merge_prepends_a_vector_path_as_one_step() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    merge = _merge()
    assert merge.out_shape == (4, 6)
    image, words = torch.randn(2, 6), torch.randn(2, 5, 3)
    out = merge.fprop([image, words], inference=True)
    assert out.shape == (2, 6, 4)
    torch.testing.assert_close(out[:, 0], merge.layers[0](image))
    torch.testing.assert_close(out[:, 1:], merge.layers[1](words))
    torch.testing.assert_close(merge.to_torch()([image, words]), out)


def test_recurrent_merge_refuses_images_and_unequal_features() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    image_path = MergeMultistream(
        [[Reshape((1, 2, 3))], [Linear(4, Gaussian())]], "recurrent", name="m"
    )
    with pytest.raises(ShapeMismatchError, match="feature vectors F"):
        image_path.configure([6, (3, 5)])
    widths = MergeMultistream([[Linear(3, Gaussian())], [Linear(4, Gaussian())]], "recurrent")
    with pytest.raises(ShapeMismatchError, match="with the same F"):
        widths.configure([6, (3, 5)])


def test_array_initializer_describes_a_backend_tensor_as_numpy() -> None:
    be = gen_backend("cpu", rng_seed=0, batch_size=2)
    values = np.arange(3.0).reshape(3, 1)
    init = Array(val=be.array(values))
    desc = init.get_description()
    assert desc["type"] == "neon.initializers.initializer.Array"
    assert isinstance(desc["config"]["val"], np.ndarray)
    np.testing.assert_array_equal(desc["config"]["val"], values)
    np.testing.assert_array_equal(Array(val=torch.ones(2)).get_description()["config"]["val"], 1)
    assert "val" not in Array().get_description()["config"]
    assert Constant(val=2.0).get_description()["config"]["val"] == 2.0
    model = Model(Affine(3, Gaussian(), bias=init))
    model.initialize(4)
    (bias, _), _ = get_param_list(model.layers_to_optimize)[1]
    np.testing.assert_allclose(bias.get(), values)


@pytest.mark.parametrize("masked", [False, True])
def test_cost_train_of_a_masked_cost_is_each_minibatch_cost(masked: bool) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=2)
    rng = np.random.RandomState(0)
    x = torch.tensor(rng.rand(8, 3), dtype=torch.float32)
    t = torch.tensor(rng.rand(8, 2), dtype=torch.float32)
    mask = torch.ones(8, 2)
    batches = [
        (x[i : i + 2], (t[i : i + 2], mask[i : i + 2]) if masked else t[i : i + 2])
        for i in range(0, 8, 2)
    ]
    model = Model([Affine(2, Gaussian())])
    callbacks = Callbacks(model)
    costs: list[float] = []
    original = callbacks.on_minibatch_end

    def trace(epoch: int, minibatch: int) -> None:
        original(epoch, minibatch)
        costs.append(float(model.cost.cost))

    callbacks.on_minibatch_end = trace  # type: ignore[method-assign]
    cost = GeneralizedCostMask(SumSquared()) if masked else GeneralizedCost(SumSquared())
    model.fit(batches, cost, GradientDescentMomentum(0.1, 0.0), 2, callbacks)
    recorded = np.asarray(callbacks.callback_data["cost/train"])
    # neon keeps GeneralizedCostMask's one in-place cost array 10 times in its window
    running = np.cumsum(costs) / np.arange(1, len(costs) + 1)
    np.testing.assert_allclose(recorded, costs if masked else running, rtol=1e-6)
