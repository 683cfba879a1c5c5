"""save_params / load_params / Model(file) / serialize / deserialize and exact resumption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neon_torch.backends import gen_backend
from neon_torch.data import ArrayIterator
from neon_torch.errors import NeonTorchError, ShapeMismatchError
from neon_torch.initializers import Gaussian
from neon_torch.layers import Affine, Dropout, GeneralizedCost
from neon_torch.models import Model
from neon_torch.optimizers import Adam, GradientDescentMomentum, StepSchedule
from neon_torch.transforms import CrossEntropyMulti, Rectlin, Softmax

RNG = np.random.RandomState(7)
X = RNG.rand(64, 12).astype(np.float32)
Y = RNG.randint(0, 4, 64)


def _data() -> ArrayIterator:
    return ArrayIterator(X, Y, nclass=4)


def _layers(dropout: bool = True) -> list[Any]:
    out: list[Any] = [
        Affine(16, init=Gaussian(scale=0.1), bias=Gaussian(scale=0.1), activation=Rectlin())
    ]
    if dropout:
        out.append(Dropout(keep=0.8))  # draws from be.rng: resumption must restore it
    out.append(Affine(4, init=Gaussian(scale=0.1), batch_norm=True, activation=Softmax()))
    return out


def _weights(model: Model) -> list[np.ndarray]:
    return [v.detach().numpy().copy() for v in model.module.state_dict().values()]


OPTIMIZERS = {
    "gdm": lambda: GradientDescentMomentum(0.1, momentum_coef=0.9),
    "adam": lambda: Adam(learning_rate=0.01),
    "step": lambda: GradientDescentMomentum(
        0.1, momentum_coef=0.5, schedule=StepSchedule(step_config=[1, 3], change=[0.05, 0.01])
    ),
}


def _train(opt: str, epochs: int, model: Model | None = None) -> Model:
    model = model if model is not None else Model(_layers())
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(_data(), cost=cost, optimizer=OPTIMIZERS[opt](), num_epochs=epochs)
    return model


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_resumed_run_equals_uninterrupted_run(opt: str, tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=1, batch_size=16)
    full = _weights(_train(opt, 4))

    gen_backend("cpu", rng_seed=1, batch_size=16)
    first = _train(opt, 2)
    first.save_params(tmp_path / "ckpt.prm")
    gen_backend("cpu", rng_seed=99, batch_size=16)  # a different process state
    resumed = Model(str(tmp_path / "ckpt.prm"))
    assert resumed.epoch_index == 2  # two completed epochs; neon would say 3
    _train(opt, 4, resumed)
    for a, b in zip(_weights(resumed), full, strict=True):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_written_in_on_epoch_end_counts_that_epoch(tmp_path: Path) -> None:
    from neon_torch.callbacks import Callback, Callbacks

    class Save(Callback):
        def on_epoch_end(self, callback_data: dict, model: Any, epoch: int) -> None:
            model.save_params(tmp_path / f"e{epoch}.prm")

    gen_backend("cpu", rng_seed=1, batch_size=16)
    model = Model(_layers())
    callbacks = Callbacks(model, progress_bar=False)
    callbacks.add_callback(Save())
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(_data(), cost=cost, optimizer=OPTIMIZERS["gdm"](), num_epochs=2, callbacks=callbacks)
    assert Model(str(tmp_path / "e0.prm")).epoch_index == 1
    assert Model(str(tmp_path / "e1.prm")).serialize()["epoch_index"] == 3  # neon's +1 rule


def test_round_trip_gives_identical_outputs_and_description(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _train("adam", 1)
    model.save_params(tmp_path / "a.prm")
    before = model.get_outputs(_data())
    desc = model.serialize()
    loaded = Model(str(tmp_path / "a.prm"))
    np.testing.assert_array_equal(loaded.get_outputs(_data()), before)
    again = loaded.serialize()
    _assert_tree_equal(again["model"], desc["model"])  # neon restores layers, not cost/optimizer
    assert desc["neon_torch"] == {"epochs_completed": 1, "optimizer_state": {"t": 4}}
    model.save_params(tmp_path / "b.prm")
    assert (tmp_path / "a.prm").read_bytes() == (tmp_path / "b.prm").read_bytes()


def _assert_tree_equal(a: Any, b: Any) -> None:
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _assert_tree_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_tree_equal(x, y)
    else:
        assert a == b


def test_model_from_description_dict_and_weights_only(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    model = _train("gdm", 1)
    out = model.get_outputs(_data())
    from_dict = Model(model.serialize())
    np.testing.assert_array_equal(from_dict.get_outputs(_data()), out)
    model.save_params(tmp_path / "m.prm")
    state = gen_backend("cpu", rng_seed=5, batch_size=16).rng_get_state()
    light = Model(str(tmp_path / "m.prm"), weights_only=True)
    assert all(s == [] for layer in light.layers_to_optimize for s in layer.states)
    np.testing.assert_array_equal(light.be.rng_get_state()[1], state[1])  # RNG untouched


def test_load_params_into_model_built_in_code_and_deserialize(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    trained = _train("gdm", 1)
    trained.save_params(tmp_path / "m.prm")
    fresh = Model(_layers())
    fresh.load_params(tmp_path / "m.prm")
    np.testing.assert_array_equal(fresh.get_outputs(_data()), trained.get_outputs(_data()))
    other = Model(_layers())
    other.initialize(_data())
    other.deserialize(trained.serialize(), load_states=False)
    np.testing.assert_array_equal(other.get_outputs(_data()), trained.get_outputs(_data()))


def test_failed_load_leaves_the_model_unchanged(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    trained = _train("adam", 1)
    tree = trained.serialize()
    tree["model"]["config"]["layers"][-3]["params"]["gvar"] = np.zeros((5, 1), np.float32)
    from neon_torch.serialization import write_prm

    write_prm(tmp_path / "bad.prm", tree)
    target = _train("gdm", 1)
    before = _weights(target)
    states = [[s.clone() for s in st] for layer in target.layers_to_optimize for st in layer.states]
    rng, epoch = target.be.rng_get_state(), target.epoch_index
    with pytest.raises(ShapeMismatchError, match=r"bad\.prm.*gvar"):
        target.load_params(tmp_path / "bad.prm")
    for a, b in zip(_weights(target), before, strict=True):
        np.testing.assert_array_equal(a, b)
    after = [s for layer in target.layers_to_optimize for st in layer.states for s in st]
    assert all(
        torch.equal(a, b) for a, b in zip(after, [s for st in states for s in st], strict=True)
    )
    np.testing.assert_array_equal(target.be.rng_get_state()[1], rng[1])
    assert target.epoch_index == epoch


def test_loading_another_network_is_refused(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    _train("gdm", 1).save_params(tmp_path / "m.prm")
    other = Model([Affine(4, init=Gaussian(), activation=Softmax())])
    with pytest.raises(NeonTorchError, match=r"m\.prm"):
        other.load_params(tmp_path / "m.prm")


def test_weights_without_input_shape_wait_for_initialize() -> None:
    """A description without ``train_input_shape`` (neon's ``get_description``) is applied by
    ``initialize``, which then draws nothing from the RNG (neon creates the weights from it)."""
    gen_backend("cpu", rng_seed=0, batch_size=16)
    trained = _train("gdm", 1)
    desc = trained.get_description(get_weights=True, keep_states=True)
    fresh = Model(_layers())
    fresh.deserialize(desc)
    assert not fresh.initialized
    rng = fresh.be.rng_get_state()
    fresh.initialize(_data())
    np.testing.assert_array_equal(fresh.be.rng_get_state()[1], rng[1])
    np.testing.assert_array_equal(fresh.get_outputs(_data()), trained.get_outputs(_data()))


def test_failed_load_into_uninitialized_model_keeps_it_uninitialized(tmp_path: Path) -> None:
    gen_backend("cpu", rng_seed=0, batch_size=16)
    tree = _train("gdm", 1).serialize()
    tree["model"]["config"]["layers"][0]["params"]["W"] = np.zeros((3, 3), np.float32)
    from neon_torch.serialization import write_prm

    write_prm(tmp_path / "bad.prm", tree)
    fresh = Model(_layers())
    rng = fresh.be.rng_get_state()
    with pytest.raises(ShapeMismatchError, match=r"bad\.prm"):
        fresh.load_params(tmp_path / "bad.prm")
    assert not fresh.initialized and fresh.epoch_index == 0
    np.testing.assert_array_equal(fresh.be.rng_get_state()[1], rng[1])
    with pytest.raises(ShapeMismatchError, match=r"bad\.prm"):
        Model(str(tmp_path / "bad.prm"))


@pytest.mark.cuda
def test_save_and_load_on_cuda(tmp_path: Path) -> None:
    gen_backend("gpu", rng_seed=0, batch_size=16)
    trained = _train("adam", 1)
    trained.save_params(tmp_path / "g.prm")
    loaded = Model(str(tmp_path / "g.prm"))
    states = [s for layer in loaded.layers_to_optimize for st in layer.states for s in st]
    assert states and all(s.device.type == "cuda" for s in states)
    np.testing.assert_array_equal(loaded.get_outputs(_data()), trained.get_outputs(_data()))


def test_bibnrnn_with_optimizer_states_loads(tmp_path: Path) -> None:
    """neon writes a BiBNRNN's states as one flat list (its W's; beta's and gamma's are not
    saved), while the layer optimizes three parameters: the file must load with its states,
    whether they are empty (never trained) or not."""
    from neon_torch.initializers import GlorotUniform
    from neon_torch.layers import BiBNRNN, RecurrentSum

    gen_backend("cpu", rng_seed=0, batch_size=8)
    seqs = np.random.RandomState(3).rand(32, 5 * 6).astype(np.float32)
    data = ArrayIterator(seqs, np.arange(32) % 4, nclass=4, lshape=(5, 6))

    def layers() -> list[Any]:
        return [
            BiBNRNN(6, GlorotUniform(), activation=Rectlin(), reset_cells=True),
            RecurrentSum(),
            Affine(4, init=GlorotUniform(), activation=Softmax()),
        ]

    fresh = Model(layers())
    fresh.initialize(data)
    fresh.save_params(str(tmp_path / "fresh.prm"))
    assert Model(str(tmp_path / "fresh.prm")).layers.layers[0].states in ([], [[], [], []])
    model = _train_on(Model(layers()), data)
    model.save_params(str(tmp_path / "trained.prm"))
    loaded = Model(str(tmp_path / "trained.prm"))
    first, saved = loaded.layers.layers[0], model.layers.layers[0]
    assert len(first.states[0]) == len(saved.states[0]) == 1  # the W momentum
    torch.testing.assert_close(first.states[0][0], saved.states[0][0])
    torch.testing.assert_close(first.W, saved.W)
    # neon does not save beta and gamma: they come back as their initial zeros and ones
    assert bool((first.beta == 0).all() and (first.gamma == 1).all())
    assert not bool((saved.beta == 0).all())
    with torch.no_grad():
        saved.beta.zero_()
        saved.gamma.fill_(1.0)
    np.testing.assert_allclose(loaded.get_outputs(data), model.get_outputs(data), atol=1e-6)


def _train_on(model: Model, data: ArrayIterator) -> Model:
    cost = GeneralizedCost(costfunc=CrossEntropyMulti())
    model.fit(data, cost=cost, optimizer=OPTIMIZERS["gdm"](), num_epochs=1)
    return model


def test_set_neon_params_still_checks_shapes_and_neon_params_still_copies() -> None:
    from neon_torch.layers import Convolution, Linear

    gen_backend("cpu", rng_seed=0, batch_size=2)
    linear, conv = Linear(5, init=Gaussian(scale=0.1)), Convolution((3, 3, 4), init=Gaussian(0.1))
    linear.configure(7)
    linear.allocate()
    conv.configure((2, 6, 6))
    conv.allocate()
    for layer in (linear, conv):
        good = {k: np.full_like(v, 0.5) for k, v in layer.neon_params().items()}
        with pytest.raises(ShapeMismatchError, match="neon shape"):
            layer.set_neon_params({"W": np.zeros(good["W"].T.shape, np.float32)})
        layer.set_neon_params(good)
        after = layer.neon_params()["W"]
        assert after.flags.owndata and after.strides[0] != 0  # a real copy again
        np.testing.assert_array_equal(after, good["W"])
