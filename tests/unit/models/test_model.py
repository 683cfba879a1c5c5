"""Model: life cycle, PyTorch interoperability, callbacks order and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from neon_torch import registry
from neon_torch.backends import gen_backend
from neon_torch.callbacks import Callback, Callbacks
from neon_torch.data import ArrayIterator
from neon_torch.errors import NotConfiguredError, ShapeMismatchError, UnknownNeonTypeError
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, Dropout, GeneralizedCost, Linear
from neon_torch.models import Model
from neon_torch.optimizers import GradientDescentMomentum
from neon_torch.transforms import CrossEntropyMulti, Misclassification, Rectlin, Softmax


def _data(n: int = 64, nfeat: int = 6, nclass: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(n, nfeat).astype(np.float32)
    y = (X @ rng.randn(nfeat, nclass)).argmax(1)
    return X, y


def _model() -> Model:
    return Model(
        [
            Affine(8, init=Gaussian(scale=0.3), activation=Rectlin()),
            Dropout(keep=0.8),
            Affine(3, init=Gaussian(scale=0.3), activation=Softmax()),
        ]
    )


def _cost() -> GeneralizedCost:
    return GeneralizedCost(costfunc=CrossEntropyMulti())


def test_dataloader_training_matches_array_iterator_training() -> None:
    X, y = _data()
    gen_backend("cpu", rng_seed=0, batch_size=16)
    neon_model = _model()
    neon_model.fit(ArrayIterator(X, y, nclass=3), _cost(), GradientDescentMomentum(0.1, 0.9), 3)

    gen_backend("cpu", rng_seed=0, batch_size=16)
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=16)
    torch_model = _model()
    torch_model.fit(loader, _cost(), GradientDescentMomentum(0.1, 0.9), 3)

    for a, b in zip(neon_model.module.parameters(), torch_model.module.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(torch_model.total_cost, neon_model.total_cost, rtol=1e-6)
    np.testing.assert_allclose(
        torch_model.get_outputs(loader), neon_model.get_outputs(ArrayIterator(X, y, nclass=3))
    )
    np.testing.assert_allclose(
        torch_model.eval(loader, Misclassification()),
        neon_model.eval(ArrayIterator(X, y, nclass=3), Misclassification()),
    )


def test_eval_averages_only_real_samples_of_a_wrapped_batch() -> None:
    X, y = _data(n=20)
    gen_backend("cpu", rng_seed=0, batch_size=8)
    model = _model()
    it = ArrayIterator(X, y, nclass=3)
    outputs = model.get_outputs(it)
    assert outputs.shape == (20, 3)
    expected = np.mean(outputs.argmax(1) != y)
    np.testing.assert_allclose(model.eval(it, Misclassification()), [expected], rtol=1e-6)


def test_module_is_plain_pytorch_and_inference_builds_no_graph() -> None:
    X, y = _data()
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _model()
    model.initialize(ArrayIterator(X, y, nclass=3))
    module = model.module
    assert isinstance(module, torch.nn.Module)
    assert sorted(module.state_dict()) == ["layers.0.weight", "layers.3.weight"]
    out = model.fprop(torch.from_numpy(X[:4]), inference=True)
    assert not out.requires_grad
    plain = torch.optim.SGD(module.parameters(), lr=0.1)
    module.train()
    loss = module(torch.from_numpy(X[:4])).sum()
    loss.backward()
    plain.step()


def test_initialize_runs_once_and_fit_continues_from_epoch_index() -> None:
    X, y = _data()
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _model()
    it = ArrayIterator(X, y, nclass=3)
    model.get_outputs(it)  # initializes without a cost
    weight = model.module.layers[0].weight
    model.fit(it, _cost(), GradientDescentMomentum(0.1, 0.9), 2)
    assert model.module.layers[0].weight is weight  # not re-allocated
    assert model.epoch_index == 2
    model.fit(it, model.cost, GradientDescentMomentum(0.1, 0.9), 3)
    assert model.epoch_index == 3


def test_callbacks_get_neons_hooks_in_order() -> None:
    X, y = _data(n=32)
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _model()
    events: list[Any] = []

    class Spy(Callback):
        def on_train_begin(self, cbd: dict, m: Any, epochs: int) -> None:
            events.append(("train_begin", epochs))

        def on_epoch_begin(self, cbd: dict, m: Any, epoch: int) -> None:
            events.append(("epoch_begin", epoch))

        def on_minibatch_end(self, cbd: dict, m: Any, epoch: int, minibatch: int) -> None:
            events.append(("mb_end", epoch, minibatch, m.cost.cost.shape))

        def on_epoch_end(self, cbd: dict, m: Any, epoch: int) -> None:
            events.append(("epoch_end", epoch, m.total_cost.shape))

        def on_train_end(self, cbd: dict, m: Any) -> None:
            events.append(("train_end",))

    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(Spy(), insert_pos=0)
    model.fit(
        ArrayIterator(X, y, nclass=3), _cost(), GradientDescentMomentum(0.1, 0.9), 1, callbacks
    )
    assert events == [
        ("train_begin", 1),
        ("epoch_begin", 0),
        ("mb_end", 0, 0, (1, 1)),
        ("mb_end", 0, 1, (1, 1)),
        ("epoch_end", 0, (1, 1)),
        ("train_end",),
    ]
    assert callbacks.callback_data["cost/train"].shape == (2,)


def test_eval_set_callbacks_record_loss_and_metric(capsys: pytest.CaptureFixture) -> None:
    X, y = _data(n=32)
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _model()
    it = ArrayIterator(X, y, nclass=3)
    callbacks = Callbacks(model, eval_set=it, eval_freq=1, metric=Misclassification())
    model.fit(it, _cost(), GradientDescentMomentum(0.1, 0.9), 2, callbacks)
    data = callbacks.callback_data
    assert data["cost/loss"].shape == (2,) and data["metrics/Top1Misclass"].shape == (2,)
    np.testing.assert_allclose(
        data["metrics/Top1Misclass"][-1], model.eval(it, Misclassification())[0]
    )
    out = capsys.readouterr().out
    assert "Epoch 1   [Train |████████████████████|    2/2    batches" in out
    assert "[CrossEntropyMulti Loss" in out


def test_feature_count_mismatch_names_the_layer_and_shapes() -> None:
    X, y = _data()
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _model()
    model.initialize(ArrayIterator(X, y, nclass=3))
    before = model.module.layers[0].weight.detach().clone()
    wrong = ArrayIterator(np.zeros((32, 7), np.float32), np.zeros(32), nclass=3)
    with pytest.raises(ShapeMismatchError, match="samples have shape 7, but the model was"):
        model.fit(wrong, _cost(), GradientDescentMomentum(0.1, 0.9), 1)
    with pytest.raises(ShapeMismatchError, match=r"'Linear_0' was initialized for samples of"):
        model.fprop(torch.zeros(4, 7))
    assert torch.equal(before, model.module.layers[0].weight)  # nothing half-applied
    assert model.epoch_index == 0


def test_uninitialized_model_and_wrong_label_width_are_clear_errors() -> None:
    gen_backend("cpu", batch_size=4)
    model = Model([Linear(2, init=Gaussian())])
    with pytest.raises(NotConfiguredError, match="not initialized"):
        model.fprop(torch.zeros(4, 3))
    model.initialize(3, _cost())
    with pytest.raises(ShapeMismatchError, match="targets of shape"):
        model.cost.get_cost(torch.zeros(4, 2), torch.zeros(4, 5))


def test_registry_resolves_neon_type_strings_with_suggestions() -> None:
    assert registry.lookup("neon.layers.layer.Linear") is Linear
    assert registry.lookup("neon.layers.Linear") is Linear
    with pytest.raises(UnknownNeonTypeError, match=r"Did you mean 'neon\.layers\.layer\.Linear'"):
        registry.lookup("neon.layers.layer.Lineer")


def test_descriptions_keep_only_non_default_arguments() -> None:
    gen_backend("cpu", rng_seed=0, batch_size=4)
    assert Gaussian(scale=0.1).get_description() == {
        "type": "neon.initializers.initializer.Gaussian",
        "config": {"scale": 0.1},
    }
    assert Dropout().get_description() == {
        "type": "neon.layers.layer.Dropout",
        "config": {"name": "Dropout_0"},
    }
    opt = GradientDescentMomentum(0.1, momentum_coef=0.9, wdecay=1e-4)
    assert opt.get_description()["config"] == {
        "learning_rate": 0.1,
        "momentum_coef": 0.9,
        "wdecay": 1e-4,
        "name": "GradientDescentMomentum_0",
    }
